import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CloseCodes } from '../shared/protocol/close-codes.ts'
import { ENV_SPEC } from './config.ts'
import { HttpErrors } from './http/errors.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('README stays in step with the code', () => {
  it.each(Object.keys(ENV_SPEC))('documents %s with its default', (name) => {
    const spec = ENV_SPEC[name as keyof typeof ENV_SPEC]
    const fallback = (spec.schema.def as { defaultValue: unknown }).defaultValue
    expect(readme).toContain(fallback === undefined ? `| \`${name}\` | — |` : `| \`${name}\` | \`${String(fallback)}\` |`)
  })
  it.each(Object.values(CloseCodes).map((c) => [c.code, c] as const))('lists close code %i', (_, c) => {
    expect(readme).toContain(`| ${c.code} | \`${c.name}\` | ${c.reason} |`)
  })
  it('shows the SDK example exactly as client/examples/hello-site.ts has it (a test runs that file)', () => {
    const example = readFileSync(new URL('../client/examples/hello-site.ts', import.meta.url), 'utf8')
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``)
  })
  it.each(Object.values(HttpErrors).map((e) => [e.name, e] as const))('lists REST error %s', (_, e) => {
    expect(readme).toContain(`| ${e.status} | \`${e.code}\` | \`${e.name}\` | \`${e.message}\` |`)
  })
})

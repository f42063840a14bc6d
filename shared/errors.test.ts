import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AtriumError } from './errors.ts'

const root = new URL('..', import.meta.url).pathname

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('the one error style', () => {
  it('names an error by its literal name, in messages and stack traces', () => {
    class Example extends AtriumError {
      override readonly name = 'Example'
      constructor(readonly limit: number) {
        super(`over ${limit}`)
      }
    }
    const err = new Example(3)
    expect(String(err)).toBe('Example: over 3')
    expect(err.stack?.split('\n')[0]).toBe('Example: over 3')
    expect(err).toBeInstanceOf(Error)
  })

  it('is the only style in server, persistence, shared, load-tests and client: no class extends Error directly', () => {
    const direct = ['server', 'persistence', 'shared', 'load-tests', 'client']
      .flatMap(sources)
      .filter((file) => file !== join('shared', 'errors.ts'))
      .flatMap((file) => [...readFileSync(join(root, file), 'utf8').matchAll(/class (\w+) extends Error\b/g)].map((m) => `${file}: ${m[1]}`))
    expect(direct).toEqual([])
  })
})

import { STATUS_CODES } from 'node:http'
import { describe, expect, it } from 'vitest'
import { errorBody, HttpErrors } from './errors.ts'

const entries = Object.entries(HttpErrors)

describe('the HTTP error catalogue', () => {
  it.each(entries)('%s is well-formed', (key, e) => {
    expect(e.name).toBe(key)
    expect(key).toMatch(/^[A-Z][A-Z0-9_]*$/)
    expect(e.code).toMatch(/^[a-z][a-z0-9_]*$/)
    expect(e.status).toBeGreaterThanOrEqual(400)
    expect(e.status).toBeLessThan(600)
    expect(STATUS_CODES[e.status]).toBeDefined()
    expect(e.message.trim()).toBe(e.message)
    expect(e.message).not.toBe('')
    // A README table cell holds it verbatim.
    expect(e.message).not.toMatch(/[|`\n]/)
    for (const [, inner] of e.message.matchAll(/\{([^}]*)\}/g)) if (!inner!.includes('"')) expect(inner).toMatch(/^\w+$/)
    expect(Object.isFrozen(e)).toBe(true)
  })

  it('is frozen, and a code always means one status', () => {
    expect(Object.isFrozen(HttpErrors)).toBe(true)
    const statusOf = new Map<string, number>()
    for (const [, e] of entries) {
      expect([e.code, statusOf.get(e.code) ?? e.status]).toEqual([e.code, e.status])
      statusOf.set(e.code, e.status)
    }
  })

  it('fills placeholders and leaves JSON examples alone', () => {
    expect(errorBody(HttpErrors.SNAPSHOT_NOT_FOUND, { id: '"v1"', name: '"site/a"' })).toEqual({ error: 'not_found', message: 'no snapshot "v1" of "site/a"' })
    expect(errorBody(HttpErrors.BAD_CONTENT_TYPE)).toEqual({ error: 'bad_content_type', message: 'send {"label": "…"} as application/json' })
    expect(errorBody(HttpErrors.JSON_TOO_LARGE, { bytes: 20, max: 10 }).message).toBe(
      'the document is 20 bytes as JSON (over MAX_REST_JSON_BYTES, 10); export it with npm run docs -- export',
    )
  })
})

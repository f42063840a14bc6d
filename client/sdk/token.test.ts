import { describe, expect, it } from 'vitest'
import { mintToken } from '../../server/auth/mint.ts'
import { awarenessClaimHz, tokenPayload, tokenRight } from './token.ts'

const SECRET = 'token-test-secret-of-32-characters-at-least'
const mint = (docs: Record<string, 'none' | 'read' | 'write'>) => mintToken({ secret: SECRET, sub: 'ü-user', docs, ttlS: 60 })

describe('what a client reads from its own token', () => {
  it('gives the right the server would, by the same rules', async () => {
    const token = await mint({ 'site/*': 'read', 'site/own': 'write', 'site/**': 'write', 'other/x': 'none' })
    expect(tokenRight(token, 'site/a')).toBe('read') // `site/*` (5 literals) beats `site/**` (5 literals, weaker right wins the tie)
    expect(tokenRight(token, 'site/own')).toBe('write')
    expect(tokenRight(token, 'site/a/b')).toBe('write')
    expect(tokenRight(token, 'other/x')).toBe('none')
    expect(tokenRight(token, 'elsewhere')).toBe('none')
  })

  it('counts no token, or one it cannot read, as write (the server decides)', () => {
    expect(tokenRight(undefined, 'site/a')).toBe('write')
    expect(tokenRight('not-a-jwt', 'site/a')).toBe('write')
    expect(tokenPayload('a.!!!.c')).toBeNull()
  })

  it('reads a payload with non-ASCII text and no padding, and the awarenessHz claim', async () => {
    expect(tokenPayload(await mint({ '**': 'read' }))?.sub).toBe('ü-user')
    const payload = btoa(JSON.stringify({ awarenessHz: 10 })).replace(/=+$/, '')
    expect(awarenessClaimHz(`h.${payload}.s`)).toBe(10)
    expect(awarenessClaimHz(undefined)).toBeNull()
  })
})

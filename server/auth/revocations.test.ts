import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadRevocations, Revocations, saveRevocations } from './revocations.ts'

describe('revocations', () => {
  it('a token id is revoked until its revocation ends', () => {
    let t = 1000
    const list = new Revocations(() => t)
    list.add({ kind: 'jti', value: 'j1', at: 1000, until: 2000 })
    expect(list.revokes({ jti: 'j1', sub: 'ada', iat: 900 })).toBe(true)
    expect(list.revokes({ jti: 'j2', sub: 'ada', iat: 900 })).toBe(false)
    t = 2001
    expect(list.revokes({ jti: 'j1', sub: 'ada', iat: 900 })).toBe(false)
    expect(list.all()).toEqual([])
  })

  it("a subject's tokens issued before the revocation are revoked, later ones are not; no iat counts as before", () => {
    const list = new Revocations(() => 1000)
    list.add({ kind: 'sub', value: 'ada', at: 1000, until: 5000 })
    expect(list.revokes({ jti: null, sub: 'ada', iat: 999 })).toBe(true)
    expect(list.revokes({ jti: null, sub: 'ada', iat: null })).toBe(true)
    expect(list.revokes({ jti: null, sub: 'ada', iat: 1001 })).toBe(false)
    expect(list.revokes({ jti: null, sub: 'bob', iat: 999 })).toBe(false)
  })

  it('adding what is known changes nothing; a later revocation of a subject moves its time', () => {
    const list = new Revocations(() => 1000)
    expect(list.add({ kind: 'sub', value: 'ada', at: 1000, until: 5000 })).toBe(true)
    expect(list.add({ kind: 'sub', value: 'ada', at: 1000, until: 5000 })).toBe(false)
    expect(list.add({ kind: 'sub', value: 'ada', at: 1200, until: 5200 })).toBe(true)
    expect(list.revokes({ jti: null, sub: 'ada', iat: 1100 })).toBe(true)
    expect(list.add({ kind: 'jti', value: 'old', at: 0, until: 10 })).toBe(false) // already over
  })

  it('survive on disk; a missing file is none, malformed entries are skipped', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'atrium-rev-')), 'revocations.json')
    expect(await loadRevocations(path)).toEqual([])
    const entries = [{ kind: 'jti' as const, value: 'j1', at: 1, until: 2 }]
    await saveRevocations(path, entries)
    expect(await loadRevocations(path)).toEqual(entries)
    await saveRevocations(path, [...entries, { kind: 'nope', value: '' } as never])
    expect(await loadRevocations(path)).toEqual(entries)
  })
})

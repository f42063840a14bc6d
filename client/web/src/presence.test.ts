import { describe, expect, it } from 'vitest'
import type { Peer } from '../../sdk/presence.ts'
import { remoteSelections } from './plan/overlays.ts'
import { peerLabel } from './presence.ts'

const peer = (clientId: number, user: unknown, selection: string[] = []): Peer => ({ clientId, user: user as Peer['user'], selection, cursor: null, xr: null })

describe('peerLabel', () => {
  it('the peer’s own name and colour', () => {
    expect(peerLabel(peer(7, { name: 'Ada', color: '#e6194b' }))).toEqual({ name: 'Ada', color: '#e6194b' })
  })

  it('a stand-in for a client with no user (a bot, a headset)', () => {
    expect(peerLabel(peer(7, null))).toEqual({ name: 'client 7', color: '#888888' })
  })

  it('a colour that is not #rrggbb never reaches a style attribute', () => {
    for (const color of ['red;background:url(https://evil.example/x)', '#fff', '#12345g', 'var(--x)', '#123456;x:y', 42])
      expect(peerLabel(peer(1, { name: 'Eve', color })).color).toBe('#888888')
  })

  it('a 1 MB name is cut to 100 characters; a missing one falls back', () => {
    expect(peerLabel(peer(1, { name: 'x'.repeat(1 << 20), color: '#000000' })).name).toHaveLength(100)
    expect(peerLabel(peer(3, { name: '', color: '#000000' })).name).toBe('client 3')
    expect(peerLabel(peer(3, { color: '#000000' })).name).toBe('client 3')
  })
})

describe('remoteSelections', () => {
  it('each selected id once, with the first selector’s label', () => {
    const map = remoteSelections([peer(1, { name: 'Ada', color: '#000000' }, ['a', 'b']), peer(2, null, ['b', 'c'])])
    expect([...map]).toEqual([
      ['a', { name: 'Ada', color: '#000000' }],
      ['b', { name: 'Ada', color: '#000000' }],
      ['c', { name: 'client 2', color: '#888888' }],
    ])
  })
})

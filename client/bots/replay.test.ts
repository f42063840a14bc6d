import { describe, expect, it } from 'vitest'
import { ownPresence } from './replay.ts'

const user = { name: 'Ada', color: '#112233' }
const pose = { p: [0, 1.6, 0], q: [0, 0, 0, 1] }

describe('replay: a recorded presence as the bot’s own', () => {
  it('sends a valid state as it was', () => {
    const state = { user, selection: ['a'], cursor: { floorId: 'f1', x: 1, y: 2 }, xr: null }
    expect(ownPresence(state)).toEqual({ state, invalid: false })
    expect(ownPresence({})).toEqual({ state: {}, invalid: false })
  })

  it('leaves out invalid fields and unknown keys, keeps the valid part of a field', () => {
    const xr = { head: pose, left: { p: 'x' }, right: null, t: 5, space: 'local-floor' }
    expect(ownPresence({ user: { name: '' }, selection: ['ok', 'not ok!'], cursor: { floorId: 'f1' }, xr, extra: 1 })).toEqual({
      state: { selection: ['ok'], xr: { ...xr, left: null } },
      invalid: true,
    })
  })

  it('skips a state with nothing valid in it', () => {
    expect(ownPresence({ user: 'Ada', cursor: 7, extra: true })).toEqual({ state: null, invalid: true })
  })
})

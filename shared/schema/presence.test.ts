import { describe, expect, it } from 'vitest'
import { emptyPresence, MAX_SELECTION, PRESENCE_FIELDS, sanitizePresence } from './presence.ts'

const pose = (x: number) => ({ p: [x, 1.6, 0], q: [0, 0, 0, 1] })
const VALID = {
  user: { name: 'Ada', color: '#12abEF' },
  selection: ['obj-1', 'floor:2'],
  cursor: { floorId: 'floor-1', x: 3.5, y: -2 },
  xr: { head: pose(0), left: pose(-0.3), right: null, t: 1_700_000_000_000.25, space: 'local-floor' },
}

describe('presence schemas', () => {
  it('accept the layout every client writes', () => {
    for (const [field, schema] of Object.entries(PRESENCE_FIELDS)) expect(schema.safeParse(VALID[field as keyof typeof VALID]).success).toBe(true)
    expect(sanitizePresence(VALID)).toEqual(VALID)
  })
  it.each([
    ['user', { name: '', color: '#ffffff' }],
    ['user', { name: 'x'.repeat(101), color: '#ffffff' }],
    ['user', { name: 'Ada', color: 'red' }],
    ['user', { name: 'Ada', color: '#fff' }],
    ['selection', Array.from({ length: MAX_SELECTION + 1 }, (_, i) => `o${i}`)],
    ['selection', ['has space']],
    ['cursor', { floorId: 'f', x: Number.NaN, y: 0 }],
    ['xr', { ...VALID.xr, space: 'viewer' }],
    ['xr', { ...VALID.xr, t: -1 }],
    ['xr', { ...VALID.xr, head: { p: [0, 0, 0], q: [0, 0, 0, 2] } }],
    ['xr', { ...VALID.xr, left: { p: [0, 0], q: [0, 0, 0, 1] } }],
  ] as const)('refuse a bad %s', (field, value) => {
    expect(PRESENCE_FIELDS[field].safeParse(value).success).toBe(false)
  })
})

describe('sanitizePresence (hostile states)', () => {
  it.each([null, undefined, 42, 'state', [], [VALID], true])('reads %j as empty', (raw) => {
    expect(sanitizePresence(raw)).toEqual(emptyPresence())
  })

  it('drops bad fields and keeps the valid ones', () => {
    const s = sanitizePresence({ ...VALID, user: { name: 'Ada', color: '#12abEF', admin: true }, cursor: 'here', extra: { x: 1 } })
    expect(s).toEqual({ ...VALID, user: null, cursor: null })
    expect(s).not.toHaveProperty('extra')
  })

  it('keeps the valid ids of a selection, at most MAX_SELECTION', () => {
    expect(sanitizePresence({ selection: ['a', 7, null, 'has space', 'b', { id: 'c' }] }).selection).toEqual(['a', 'b'])
    expect(sanitizePresence({ selection: Array.from({ length: 1000 }, (_, i) => `o${i}`) }).selection).toHaveLength(MAX_SELECTION)
    expect(sanitizePresence({ selection: 'a' }).selection).toEqual([])
  })

  it('drops a bad hand but keeps the head; drops xr without a valid head, clock or space', () => {
    expect(sanitizePresence({ xr: { ...VALID.xr, left: { p: [0, 0, 0], q: [1, 1, 1, 1] }, right: 'x' } }).xr).toEqual({ ...VALID.xr, left: null, right: null })
    expect(sanitizePresence({ xr: { ...VALID.xr, head: null } }).xr).toBeNull()
    expect(sanitizePresence({ xr: { ...VALID.xr, t: '5' } }).xr).toBeNull()
    expect(sanitizePresence({ xr: { ...VALID.xr, t: Number.POSITIVE_INFINITY } }).xr).toBeNull()
    expect(sanitizePresence({ xr: { head: pose(0), t: 1, space: 'local-floor' } }).xr).toEqual({
      head: pose(0),
      left: null,
      right: null,
      t: 1,
      space: 'local-floor',
    })
    expect(sanitizePresence({ xr: [pose(0)] }).xr).toBeNull()
  })

  it('is not fooled by prototype keys and never throws on getters that throw', () => {
    const polluted = JSON.parse('{"__proto__": {"user": {"name": "x", "color": "#000000"}}, "constructor": {"prototype": 1}}')
    expect(sanitizePresence(polluted)).toEqual(emptyPresence())
    const trap = Object.defineProperty({}, 'user', {
      get() {
        throw new Error('trap')
      },
      enumerable: true,
    })
    expect(sanitizePresence(trap)).toEqual(emptyPresence())
    expect(({} as { user?: unknown }).user).toBeUndefined()
  })

  it('survives deep nesting and huge values', () => {
    let deep: unknown = VALID.xr.head
    for (let i = 0; i < 10_000; i++) deep = { p: deep }
    expect(sanitizePresence({ xr: { ...VALID.xr, head: deep }, user: { name: 'x'.repeat(1e6), color: '#000000' } })).toEqual(emptyPresence())
  })
})

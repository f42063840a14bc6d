import { describe, expect, it } from 'vitest'
import { describeIssue, type ObjectField, OBJECT_FIELDS } from '../../../../shared/schema/domain.ts'
import { fieldChange, formatValue, kindOf, parseField } from './fields.ts'

/** The refusal parseField must give: the field's schema rule, as describeIssue words it. */
const rule = (field: ObjectField, value: unknown) => {
  const r = OBJECT_FIELDS[field].safeParse(value)
  if (r.success) throw new Error(`${field}: ${JSON.stringify(value)} is valid`)
  return `${field}: ${describeIssue(r.error)}`
}

describe('kindOf and formatValue', () => {
  it('numbers, enums, JSON for boxes, tags and readings, text otherwise', () => {
    expect([kindOf('elevation'), kindOf('level'), kindOf('discipline'), kindOf('bbox'), kindOf('tags'), kindOf('reading'), kindOf('name')]).toEqual([
      'number',
      'number',
      'enum',
      'json',
      'json',
      'json',
      'text',
    ])
  })

  it('shows JSON for JSON fields, the string otherwise, and nothing when absent', () => {
    expect(formatValue('bbox', [0, 0, 0, 1, 2, 3])).toBe('[0,0,0,1,2,3]')
    expect(formatValue('tags', ['a'])).toBe('["a"]')
    expect(formatValue('height', 4)).toBe('4')
    expect(formatValue('name', undefined)).toBe('')
    expect(formatValue('bbox', null)).toBe('')
  })

  it('a stored value reads back as itself', () => {
    for (const [field, value] of [
      ['bbox', [0, 0, 0, 1e300, 1, 1]],
      ['tags', ['a "quoted" tag']],
      ['reading', { value: 21.5, unit: 'C', at: 1 }],
      ['elevation', -3.5],
      ['discipline', 'hvac'],
      ['name', 'Level "1" <b>'],
    ] as const)
      expect(parseField(field, formatValue(field, value))).toEqual({ ok: true, value })
  })
})

describe('parseField', () => {
  it('numbers: parsed, and refused with the rule when not finite, empty or out of range', () => {
    expect(parseField('elevation', ' 12.5 ')).toEqual({ ok: true, value: 12.5 })
    expect(parseField('elevation', 'abc')).toEqual({ ok: false, message: rule('elevation', Number.NaN) })
    expect(parseField('elevation', '1e400')).toEqual({ ok: false, message: rule('elevation', Number.POSITIVE_INFINITY) })
    expect(parseField('height', '')).toEqual({ ok: false, message: rule('height', undefined) })
    expect(parseField('height', '0')).toEqual({ ok: false, message: rule('height', 0) })
    expect(parseField('level', '1.5')).toEqual({ ok: false, message: rule('level', 1.5) })
    expect(parseField('level', '301')).toEqual({ ok: false, message: rule('level', 301) })
  })

  it('bbox: a JSON tuple of six finite numbers with min ≤ max', () => {
    expect(parseField('bbox', '[0, 0, 0, 1, 1, 1]')).toEqual({ ok: true, value: [0, 0, 0, 1, 1, 1] })
    expect(parseField('bbox', '[2, 0, 0, 1, 1, 1]')).toEqual({ ok: false, message: rule('bbox', [2, 0, 0, 1, 1, 1]) })
    expect(parseField('bbox', '[0, 0, 0, 1, 1]')).toEqual({ ok: false, message: rule('bbox', [0, 0, 0, 1, 1]) })
    expect(parseField('bbox', '[0, 0, 0, 1, 1, 1e400]')).toEqual({ ok: false, message: rule('bbox', [0, 0, 0, 1, 1, Number.POSITIVE_INFINITY]) })
    expect(parseField('bbox', '{"0": 0}')).toEqual({ ok: false, message: rule('bbox', { 0: 0 }) })
  })

  it('text that is not JSON: refused with an example of the shape', () => {
    expect(parseField('bbox', '[NaN, 0, 0, 1, 1, 1]')).toEqual({ ok: false, message: 'bbox: not valid JSON (e.g. [0, 0, 0, 1, 1, 1])' })
    expect(parseField('tags', 'a, b')).toEqual({ ok: false, message: 'tags: not valid JSON (e.g. ["a", "b"])' })
    expect(parseField('reading', '')).toEqual({ ok: false, message: 'reading: not valid JSON (e.g. { "value": 21, "unit": "C", "at": 0 })' })
  })

  it('enums: one of the listed values', () => {
    expect(parseField('discipline', 'fire')).toEqual({ ok: true, value: 'fire' })
    expect(parseField('discipline', 'Fire')).toEqual({ ok: false, message: rule('discipline', 'Fire') })
    expect(parseField('discipline', '')).toEqual({ ok: false, message: rule('discipline', '') })
  })

  it('tags: an array of short non-empty strings', () => {
    expect(parseField('tags', '["north", "ahu"]')).toEqual({ ok: true, value: ['north', 'ahu'] })
    expect(parseField('tags', '[""]')).toEqual({ ok: false, message: rule('tags', ['']) })
    expect(parseField('tags', '"north"')).toEqual({ ok: false, message: rule('tags', 'north') })
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`)
    expect(parseField('tags', JSON.stringify(many))).toEqual({ ok: false, message: rule('tags', many) })
  })

  it('readings: no extra keys (a __proto__ key is just an extra key)', () => {
    expect(parseField('reading', '{"value": 1, "unit": "C", "at": 0, "__proto__": {"x": 1}}').ok).toBe(false)
    expect(parseField('reading', '{"value": 1, "unit": "C", "at": 0}')).toEqual({ ok: true, value: { value: 1, unit: 'C', at: 0 } })
  })

  it('text: the name is 1-200 characters (a 1 MB paste is refused, not written)', () => {
    expect(parseField('name', 'Plant room')).toEqual({ ok: true, value: 'Plant room' })
    expect(parseField('name', '')).toEqual({ ok: false, message: rule('name', '') })
    const huge = 'x'.repeat(1 << 20)
    expect(parseField('name', huge)).toEqual({ ok: false, message: rule('name', huge) })
    expect(parseField('from', 'a"b')).toEqual({ ok: false, message: rule('from', 'a"b') })
  })
})

describe('fieldChange (what the panel does on change)', () => {
  it('the stored value unchanged: nothing', () => {
    expect(fieldChange('bbox', '[0,0,0,1,1,1]', [0, 0, 0, 1, 1, 1])).toEqual({ kind: 'same' })
    expect(fieldChange('address', '', undefined)).toEqual({ kind: 'same' })
  })

  it('a valid value: a patch of that one field', () => {
    expect(fieldChange('bbox', '[0, 0, 0, 2, 2, 2]', [0, 0, 0, 1, 1, 1])).toEqual({ kind: 'write', patch: { bbox: [0, 0, 0, 2, 2, 2] } })
  })

  it('an invalid value: the rule, and no patch to write', () => {
    const change = fieldChange('bbox', '[1, 0, 0, 0, 1, 1]', [0, 0, 0, 1, 1, 1])
    expect(change).toEqual({ kind: 'refuse', message: rule('bbox', [1, 0, 0, 0, 1, 1]) })
    expect('patch' in change).toBe(false)
  })
})

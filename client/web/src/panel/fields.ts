/**
 * One input per object field, and reading it back: JSON for arrays and records (bbox, tags,
 * reading), a number input for numbers, a select for enums, text otherwise. A value is
 * checked with the field's own schema (OBJECT_FIELDS, the rules the server enforces) before
 * anything is written; a refusal comes back as the rule's text.
 */
import { DISCIPLINES, OBJECT_FIELDS, type ObjectField } from '../../../../shared/schema/domain.ts'
import { describeIssue } from '../../../../shared/schema/domain.ts'
import { h } from '../dom.ts'

type Kind = 'text' | 'number' | 'enum' | 'json'

const KINDS: Partial<Record<ObjectField, Kind>> = {
  elevation: 'number',
  height: 'number',
  level: 'number',
  area: 'number',
  discipline: 'enum',
  bbox: 'json',
  tags: 'json',
  reading: 'json',
}
const ENUMS: Partial<Record<ObjectField, readonly string[]>> = { discipline: DISCIPLINES }

export const kindOf = (field: ObjectField): Kind => KINDS[field] ?? 'text'

export type FieldInput = HTMLInputElement | HTMLSelectElement

export function fieldInput(field: ObjectField): FieldInput {
  const attrs = { 'data-testid': `field-${field}`, name: field, id: `field-${field}` }
  switch (kindOf(field)) {
    case 'number':
      return h('input', { ...attrs, type: 'number', step: 'any' })
    case 'enum':
      return h('select', attrs, h('option', { value: '' }, '—'), ...(ENUMS[field] ?? []).map((v) => h('option', { value: v }, v)))
    case 'json':
      return h('input', { ...attrs, type: 'text', class: 'mono', spellcheck: 'false' })
    default:
      return h('input', { ...attrs, type: 'text' })
  }
}

/** How a stored value shows in its input ('' when absent). */
export function formatValue(field: ObjectField, value: unknown): string {
  if (value === undefined || value === null) return ''
  return kindOf(field) === 'json' ? JSON.stringify(value) : String(value)
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string }

/** The input's text as the field's value, checked against the field's schema. */
export function parseField(field: ObjectField, raw: string): Parsed {
  let value: unknown = raw
  const kind = kindOf(field)
  if (kind === 'number') value = raw.trim() === '' ? undefined : Number(raw)
  else if (kind === 'json') {
    try {
      value = JSON.parse(raw)
    } catch {
      return {
        ok: false,
        message: `${field}: not valid JSON (e.g. ${field === 'bbox' ? '[0, 0, 0, 1, 1, 1]' : field === 'tags' ? '["a", "b"]' : '{ "value": 21, "unit": "C", "at": 0 }'})`,
      }
    }
  }
  const r = OBJECT_FIELDS[field].safeParse(value)
  return r.success ? { ok: true, value: r.data } : { ok: false, message: `${field}: ${describeIssue(r.error)}` }
}

/**
 * What a change to a field's input does: nothing when it still shows the stored value, the
 * rule when it fails the field's schema (nothing is written), else the one-field patch.
 */
export type FieldChange = { kind: 'same' } | { kind: 'refuse'; message: string } | { kind: 'write'; patch: Record<string, unknown> }

export function fieldChange(field: ObjectField, raw: string, stored: unknown): FieldChange {
  if (raw === formatValue(field, stored)) return { kind: 'same' }
  const parsed = parseField(field, raw)
  return parsed.ok ? { kind: 'write', patch: { [field]: parsed.value } } : { kind: 'refuse', message: parsed.message }
}

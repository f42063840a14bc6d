/**
 * The one deep copy of plain (JSON-like) data: own enumerable fields, arrays element by
 * element, anything else as is. The schema helpers copy what they checked, the SDK's events
 * hand listeners copies, and its views freeze theirs. Browser-safe (no imports).
 */
export function copyPlain<T>(value: T, options: { readonly freeze?: boolean } = {}): T {
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? value.map((v: unknown) => copyPlain(v, options)) : {}
  if (!Array.isArray(value)) for (const [k, v] of Object.entries(value)) (out as Record<string, unknown>)[k] = copyPlain(v, options)
  return (options.freeze ? Object.freeze(out) : out) as T
}

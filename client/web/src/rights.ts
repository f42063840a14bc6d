/**
 * What the page's token grants on its document, read from the token itself (not verified:
 * the server verifies; this only decides which controls to offer). The `docs` claim's rules
 * are the server's (server/auth/claims.ts): `*` matches within a segment, `**` across them;
 * of the matching patterns the one with the most literal characters wins, on a tie the
 * weaker right. No token: open mode, everything allowed.
 */
export type Right = 'none' | 'read' | 'write'
const STRENGTH: Record<Right, number> = { none: 0, read: 1, write: 2 }

/** The JWT's payload as JSON, or null when it is not a readable JWT. */
export function tokenPayload(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '=')), (c) => c.charCodeAt(0))
    const json: unknown = JSON.parse(new TextDecoder().decode(bytes))
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : null
  } catch {
    return null // not a JWT this page can read: the server decides, and says so if it refuses it
  }
}

function patternRe(pattern: string): { re: RegExp; literal: number } {
  let source = ''
  let literal = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*'
      i++
    } else if (c === '*') source += '[^/]*'
    else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      literal++
    }
  }
  return { re: new RegExp(`^${source}$`), literal }
}

/** The right a `docs` claim gives to `doc`. */
export function rightIn(docs: Readonly<Record<string, unknown>>, doc: string): Right {
  let best: { literal: number; right: Right } | null = null
  for (const [pattern, right] of Object.entries(docs)) {
    if (right !== 'none' && right !== 'read' && right !== 'write') continue
    const { re, literal } = patternRe(pattern)
    if (!re.test(doc)) continue
    if (!best || literal > best.literal || (literal === best.literal && STRENGTH[right] < STRENGTH[best.right])) best = { literal, right }
  }
  return best?.right ?? 'none'
}

/** What the page may do on `doc` with `token` (undefined: open mode, write). An unreadable token counts as write: the server has the last word. */
export function rightFromToken(token: string | undefined, doc: string): Right {
  if (token === undefined) return 'write'
  const docs = tokenPayload(token)?.docs
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) return 'write'
  return rightIn(docs as Record<string, unknown>, doc)
}

/**
 * The `docs` claim's rules, pure and shared: the server decides with them (server/auth/claims.ts)
 * and a client reads its own token with them to know which controls to offer (the server has the
 * last word). `*` matches within a `/`-separated segment, `**` across segments; of the patterns
 * that match a document, the one with the most literal characters wins, and on a tie the weaker
 * right (a deliberate `read` is not overridden by an equally specific `write`).
 */
export type Right = 'none' | 'read' | 'write'

export const STRENGTH: Readonly<Record<Right, number>> = { none: 0, read: 1, write: 2 }

export interface Rule {
  readonly re: RegExp
  readonly literal: number
  readonly right: Right
}

/** A pattern as an anchored regular expression, and how many literal characters it has. */
export function compilePattern(pattern: string): { re: RegExp; literal: number } {
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

/** The right compiled `rules` give to `name`. */
export function rightIn(rules: readonly Rule[], name: string): Right {
  let best: Rule | null = null
  for (const rule of rules) {
    if (!rule.re.test(name)) continue
    if (!best || rule.literal > best.literal || (rule.literal === best.literal && STRENGTH[rule.right] < STRENGTH[best.right])) best = rule
  }
  return best?.right ?? 'none'
}

/** The right a `docs` claim as it stands in a token gives to `name` (entries that are not rights are ignored). */
export function rightInDocs(docs: Readonly<Record<string, unknown>>, name: string): Right {
  const rules: Rule[] = []
  for (const [pattern, right] of Object.entries(docs))
    if (right === 'none' || right === 'read' || right === 'write') rules.push({ ...compilePattern(pattern), right })
  return rightIn(rules, name)
}

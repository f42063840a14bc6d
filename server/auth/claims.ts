/**
 * What a token grants, decided from its claims (pure: no I/O, no clock, no jose).
 *
 * The claim (JSON in the JWT payload):
 *   { "sub": "ada", "jti": "…", "exp": …,
 *     "docs": { "site/hq/*": "write", "site/*": "read", "site/hq/secret": "none" },
 *     "admin": true,              // optional: the admin REST routes
 *     "viewerAwareness": false,   // optional: read-only sessions show no presence (default: they do)
 *     "awarenessHz": 10 }         // optional: its sessions get others' presence at most this often
 *
 * Patterns: `/` separates segments; `*` matches any run of characters within one segment
 * (never a `/`), `**` matches anything, `/` included; every other character matches itself.
 * Precedence: of the patterns that match a name, the most specific wins — the one with the
 * most literal characters; on a tie the weaker right wins (`none` < `read` < `write`), so a
 * narrowing entry is never overridden by an equally specific broader one. `write` implies read.
 * A name no pattern matches has no right.
 */
import { z } from 'zod'
import { compilePattern, type Right, type Rule, rightIn } from '../../shared/rights.ts'

/** Who a connection or request is, and what it may do: decided once, at the edge. */
export interface Identity {
  readonly sub: string | null
  readonly jti: string | null
  /** Seconds since the epoch, or null (no expiry: only in open mode). */
  readonly exp: number | null
  /** When it was issued (seconds since the epoch), or null: a subject's revocation covers tokens issued before it. */
  readonly iat: number | null
  readonly admin: boolean
  readonly viewerAwareness: boolean
  /** The highest awareness rate its sessions get (Hz), or null: whatever they ask for. */
  readonly awarenessHz: number | null
  rightTo(name: string): Right
}

/** Open mode (no auth configured, loopback or AUTH=none): everyone may do everything. */
export const OPEN_IDENTITY: Identity = Object.freeze({
  sub: null,
  jti: null,
  exp: null,
  iat: null,
  admin: true,
  viewerAwareness: true,
  awarenessHz: null,
  rightTo: () => 'write' as const,
})

const MAX_PATTERNS = 256
const Pattern = z.string().min(1).max(512)

export const ClaimsSchema = z.object({
  sub: z.string().max(256).optional(),
  jti: z.string().max(256).optional(),
  exp: z.number().optional(),
  iat: z.number().optional(),
  docs: z.record(Pattern, z.enum(['none', 'read', 'write'])).refine((d) => Object.keys(d).length <= MAX_PATTERNS, `at most ${MAX_PATTERNS} patterns`),
  admin: z.boolean().optional(),
  viewerAwareness: z.boolean().optional(),
  awarenessHz: z.number().positive().max(1000).optional(),
})
export type Claims = z.infer<typeof ClaimsSchema>

/** The identity a verified token's claims describe (throws a ZodError if the claims are malformed). */
export function identityOf(payload: unknown): Identity {
  const claims = ClaimsSchema.parse(payload)
  const rules: Rule[] = Object.entries(claims.docs).map(([pattern, right]) => ({ ...compilePattern(pattern), right }))
  const cache = new Map<string, Right>()
  return Object.freeze({
    sub: claims.sub ?? null,
    jti: claims.jti ?? null,
    exp: claims.exp ?? null,
    iat: claims.iat ?? null,
    admin: claims.admin ?? false,
    viewerAwareness: claims.viewerAwareness ?? true,
    awarenessHz: claims.awarenessHz ?? null,
    rightTo(name: string): Right {
      let right = cache.get(name)
      if (right === undefined) {
        right = rightIn(rules, name)
        if (cache.size < 1024) cache.set(name, right)
      }
      return right
    },
  })
}

/** `read` and `write` both read. */
export const canRead = (right: Right): boolean => right !== 'none'

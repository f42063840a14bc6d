/**
 * The awareness rates a subscriber may be granted (server/documents/awareness-tiers.ts runs
 * them). Here, pure and browser-safe, because the server and the client must agree on the
 * answer: the server puts a session on `grantedTier(asked, claim)`, and a client that asked
 * for `awarenessHz` computes the same value to know how often it will see the others.
 * Likewise the default send quota, so a client streaming poses stays under it.
 */

/** Awareness messages one connection may send per second unless the server is configured otherwise (MAX_AWARENESS_PER_S). */
export const DEFAULT_MAX_AWARENESS_PER_S = 120

/** The rates a subscriber may ask for, in Hz; anything else (or nothing) is full rate. */
export const AWARENESS_TIERS = [10, 30] as const

/** Asked for this rate or more: full rate. */
const FULL_FROM_HZ = 60

/** The tier for a requested rate (the highest tier not above it, at least the lowest), or null: full rate (none asked, or 60 Hz and more). */
export function tierFor(requestedHz: number | null): number | null {
  if (requestedHz === null || Number.isNaN(requestedHz) || requestedHz >= FULL_FROM_HZ) return null
  let tier: number = AWARENESS_TIERS[0]
  for (const t of AWARENESS_TIERS) if (t <= requestedHz) tier = t
  return tier
}

/** The tier a session gets: what it asked for (`?awarenessHz=`), capped by its token's `awarenessHz` claim (null: none). */
export function grantedTier(askedHz: number | null, claimHz: number | null): number | null {
  const hz = askedHz === null ? claimHz : claimHz === null ? askedHz : Math.min(askedHz, claimHz)
  return tierFor(hz)
}

/**
 * Minting tokens with the shared secret (HS256): for development, tests and bots. Production
 * deployments usually have an identity provider sign them (AUTH_JWKS_URL) instead.
 */
import { SignJWT } from 'jose'
import type { Right } from '../../shared/rights.ts'
import type { Claims } from './claims.ts'

export interface MintOptions {
  readonly secret: string
  readonly sub: string
  readonly docs: Readonly<Record<string, Right>>
  /** Lifetime in seconds from `now`. */
  readonly ttlS: number
  readonly admin?: boolean
  readonly viewerAwareness?: boolean
  readonly jti?: string
  readonly issuer?: string
  readonly audience?: string
  /** Seconds since the epoch (default: the clock). */
  readonly now?: number
}

export async function mintToken(o: MintOptions): Promise<string> {
  const now = o.now ?? Math.floor(Date.now() / 1000)
  const claims: Omit<Claims, 'sub' | 'jti' | 'exp'> = {
    docs: { ...o.docs },
    ...(o.admin ? { admin: true } : {}),
    ...(o.viewerAwareness === false ? { viewerAwareness: false } : {}),
  }
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setJti(o.jti ?? crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + o.ttlS)
  if (o.issuer) jwt = jwt.setIssuer(o.issuer)
  if (o.audience) jwt = jwt.setAudience(o.audience)
  return jwt.sign(new TextEncoder().encode(o.secret))
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `90s`, `15m`, `1h`, `7d` → seconds; null when it is none of these. */
export function parseTtl(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text)
  return m ? Number(m[1]) * UNITS[m[2]!]! : null
}

/** `site/*=write` → [pattern, right]; null when malformed. */
export function parseDocRight(text: string): [string, Right] | null {
  const m = /^(.+)=(none|read|write)$/.exec(text)
  return m ? [m[1]!, m[2] as Right] : null
}

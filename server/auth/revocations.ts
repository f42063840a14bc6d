/**
 * Revoked tokens: by token id (`jti`), or every token of a subject (`sub`) issued before the
 * revocation (a new login after it still works). A revocation is kept until every token it
 * could match has expired: no token may be valid for longer than AUTH_MAX_TOKEN_TTL_S, so
 * `until` is the revocation time plus that (plus the clock skew).
 *
 * Where it lives: in memory here, checked at every upgrade and REST request and against the
 * open sessions when one is added; on disk (`revocations.json` in DATA_DIR, written atomically)
 * so it survives a restart; and in cluster mode on Redis too (a node that was down when a
 * revocation was made learns it at start), announced on the bus so every node closes the
 * matching sessions at once.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { Identity } from './claims.ts'

export const RevocationSchema = z.object({
  kind: z.enum(['jti', 'sub']),
  value: z.string().min(1).max(256),
  /** Seconds since the epoch. */
  at: z.number(),
  until: z.number(),
})
export type Revocation = z.infer<typeof RevocationSchema>

const key = (r: Pick<Revocation, 'kind' | 'value'>) => `${r.kind}:${r.value}`

export class Revocations {
  private readonly entries = new Map<string, Revocation>()

  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

  /** Adds or extends one; false when it changes nothing (already known, as recent and as long). */
  add(r: Revocation): boolean {
    if (r.until <= this.now()) return false
    const known = this.entries.get(key(r))
    if (known && known.at >= r.at && known.until >= r.until) return false
    this.entries.set(key(r), known ? { ...r, at: Math.max(known.at, r.at), until: Math.max(known.until, r.until) } : r)
    return true
  }

  /** Whether a token with this identity is revoked. */
  revokes(identity: Pick<Identity, 'jti' | 'sub' | 'iat'>): boolean {
    if (this.entries.size === 0) return false
    const t = this.now()
    const byJti = identity.jti === null ? undefined : this.entries.get(key({ kind: 'jti', value: identity.jti }))
    if (byJti && byJti.until > t) return true
    const bySub = identity.sub === null ? undefined : this.entries.get(key({ kind: 'sub', value: identity.sub }))
    return bySub !== undefined && bySub.until > t && (identity.iat ?? 0) <= bySub.at
  }

  /** What is still in force (expired entries are dropped). */
  all(): Revocation[] {
    const t = this.now()
    for (const [k, r] of this.entries) if (r.until <= t) this.entries.delete(k)
    return [...this.entries.values()]
  }
}

/** Reads the revocations saved at `path` (none when the file does not exist; malformed entries are skipped). */
export async function loadRevocations(path: string): Promise<Revocation[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const parsed = z.array(z.unknown()).safeParse(JSON.parse(text))
  if (!parsed.success) return []
  return parsed.data.flatMap((e) => {
    const r = RevocationSchema.safeParse(e)
    return r.success ? [r.data] : []
  })
}

/** Writes `all` to `path` durably: a temporary file, fsynced, renamed over the old one. */
export async function saveRevocations(path: string, all: readonly Revocation[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  const file = await open(tmp, 'w')
  try {
    await file.writeFile(JSON.stringify(all))
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
}

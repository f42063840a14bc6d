/**
 * Revoking tokens on a running node, and on every node of the cluster: the list
 * (revocations.ts) is loaded at start from DATA_DIR and, in cluster mode, from Redis; a new
 * revocation is written to both before it is announced, then the matching sessions are
 * closed here and, through the bus, on every other node. A node that was down when it was
 * announced reads it from Redis when it starts.
 */
import type { Logger } from '../log.ts'
import type { Identity } from './claims.ts'
import { loadRevocations, type Revocation, RevocationSchema, type Revocations, saveRevocations } from './revocations.ts'

/** The cluster's part: the shared hash, and the announcement. */
export interface RevocationCluster {
  hashSet(key: string, field: string, value: string, ttlMs: number): Promise<boolean>
  hashAll(key: string): Promise<Record<string, string> | null>
  publishRevocation(payload: Uint8Array): boolean
}

export interface RevocationServiceOptions {
  readonly list: Revocations
  /** Where this node keeps them (DATA_DIR/revocations.json). */
  readonly file: string
  readonly cluster: RevocationCluster | null
  /** Closes the sessions whose identity matches; returns how many. */
  readonly closeMatching: (matches: (identity: Identity) => boolean) => number
  /** How long a revocation must be kept: the longest a token may be valid, plus the clock skew. */
  readonly keepS: number
  readonly logger: Logger
}

const HASH = 'revocations'

export class RevocationService {
  /** Saves run one after another, so the file always holds the latest list. */
  private saving: Promise<void> = Promise.resolve()

  constructor(private readonly opts: RevocationServiceOptions) {}

  /** Loads what this node kept; the cluster's list follows when Redis is ready (`synchronize`). */
  async start(): Promise<void> {
    for (const r of await loadRevocations(this.opts.file)) this.opts.list.add(r)
  }

  /**
   * Merges this node's list with the cluster's, both ways: called whenever Redis becomes
   * reachable (at start, and after an outage in which announcements may have been missed).
   */
  async synchronize(): Promise<void> {
    const cluster = this.opts.cluster
    if (!cluster) return
    const shared = await cluster.hashAll(HASH)
    if (shared === null) return
    let learned = 0
    for (const json of Object.values(shared)) {
      const r = parse(json)
      if (r && this.opts.list.add(r)) learned++
    }
    for (const r of this.opts.list.all()) {
      const field = `${r.kind}:${r.value}`
      if (shared[field] !== JSON.stringify(r)) await cluster.hashSet(HASH, field, JSON.stringify(r), Math.max(1, r.until * 1000 - Date.now()))
    }
    if (learned > 0) {
      this.close(null)
      await this.save()
    }
  }

  /** Revokes a token id or a subject's tokens issued until now, everywhere; resolves once it is durable here. */
  async revoke(kind: Revocation['kind'], value: string): Promise<{ revocation: Revocation; closed: number }> {
    const at = Math.floor(Date.now() / 1000)
    const revocation: Revocation = { kind, value, at, until: at + this.opts.keepS }
    this.opts.list.add(revocation)
    await this.save()
    const json = JSON.stringify(revocation)
    if (this.opts.cluster) {
      const stored = await this.opts.cluster.hashSet(HASH, `${kind}:${value}`, json, this.opts.keepS * 1000)
      const announced = this.opts.cluster.publishRevocation(new TextEncoder().encode(json))
      if (!stored || !announced)
        this.opts.logger.warn(
          { kind, value, stored, announced },
          'revocation not shared with the cluster (Redis unavailable): other nodes learn it only when Redis is back',
        )
    }
    return { revocation, closed: this.close(revocation) }
  }

  /** Another node announced one. */
  received(payload: Uint8Array): void {
    const r = parse(new TextDecoder().decode(payload))
    if (!r) return this.opts.logger.warn('ignored a malformed revocation on the cluster bus')
    if (!this.opts.list.add(r)) return
    this.close(r)
    void this.save()
  }

  /** Closes the sessions `r` (or, null, any revocation learned at once) matches. */
  private close(r: Revocation | null): number {
    const closed = this.opts.closeMatching((identity) => this.opts.list.revokes(identity))
    if (r) this.opts.logger.info({ kind: r.kind, value: r.value, closed }, 'token revoked')
    else if (closed > 0) this.opts.logger.info({ closed }, 'closed sessions of tokens revoked while this node could not hear the cluster')
    return closed
  }

  private save(): Promise<void> {
    this.saving = this.saving.catch(() => {}).then(() => saveRevocations(this.opts.file, this.opts.list.all()))
    return this.saving.catch((err: unknown) => {
      this.opts.logger.error({ err, file: this.opts.file }, 'could not save the revocations')
      throw err
    })
  }
}

function parse(json: string): Revocation | null {
  try {
    const r = RevocationSchema.safeParse(JSON.parse(json))
    return r.success ? r.data : null
  } catch {
    return null
  }
}

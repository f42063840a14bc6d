/**
 * Wires one Atrium server from a validated config. No environment reads, no module-level
 * state: tests run several servers in one process.
 */
import { join, resolve } from 'node:path'
import type * as Y from 'yjs'
import type { us_listen_socket } from 'uWebSockets.js'
import type { DocStore } from '../persistence/doc-store.ts'
import { LmdbStore } from '../persistence/lmdb-store.ts'
import { createMongoStore, type MongoBackend } from '../persistence/mongo/mongo-backend.ts'
import { openLmdbOutbox } from '../persistence/outbox.ts'
import { ShippingStore } from '../persistence/shipping-store.ts'
import { CloseCodes } from '../shared/protocol/close-codes.ts'
import { encodeStatelessMessage } from '../shared/protocol/hocuspocus.ts'
import type { Identity } from './auth/claims.ts'
import { mongoSettings, type Config } from './config.ts'
import { RedisBus } from './cluster/bus.ts'
import { ClusterNode } from './cluster/cluster.ts'
import { ComputeService } from './compute/service.ts'
import { Compactor } from './documents/compactor.ts'
import { DurableAcks } from './documents/durable-acks.ts'
import { GroupCommit } from './documents/group-commit.ts'
import { DocumentRegistry } from './documents/registry.ts'
import { writerOptions } from './documents/doc-writer.ts'
import { Work } from './admission/model.ts'
import { RevocationService } from './auth/revocation-service.ts'
import { Revocations } from './auth/revocations.ts'
import { type AuthenticateHook, authStartupProblem, createAuthenticator, InsecureStartup, probeJwks } from './auth/verifier.ts'
import { mountMetrics } from './http/metrics-route.ts'
import { mountHttp } from './http/routes.ts'
import { loadWebFiles, mountStatic } from './http/static.ts'
import type { Logger } from './log.ts'
import { MemoryGuard, memoryBudget } from './limits/memory-guard.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { createPublisher } from './transport/publisher.ts'
import { mountWebSocket } from './transport/ws-server.ts'
import { assertNativeUws, uWS } from './transport/uws.ts'
import { WorkerPool } from './workers/pool.ts'

export interface AtriumOptions {
  readonly config: Config
  readonly logger: Logger
  /** Storage to use instead of the one the config names (not closed by the server). */
  readonly store?: DocStore
  readonly hooks?: AtriumHooks
}

/**
 * What an embedding can plug in. Each is looked up once at start-up; a hook that is not given
 * costs nothing, and none of them runs between receiving a frame and fanning it out.
 */
export interface AtriumHooks {
  /** Decides who a connection or REST request is, instead of JWT (e.g. from the app's session cookie); null refuses it. */
  readonly authenticate?: AuthenticateHook
  /** A document changed (after the change is applied and fanned out): by a client here, or on another node. */
  readonly onChange?: (name: string, update: Uint8Array, origin: 'client' | 'remote') => void
  /** A document finished loading (from storage), before its first client is served. */
  readonly onLoad?: (name: string, doc: Y.Doc) => void
  /** Updates of these documents are durable (the group commit's fsync). */
  readonly onStore?: (names: readonly string[]) => void
  /**
   * A Hocuspocus client sent a stateless message (after it was relayed to the document's other
   * Hocuspocus clients on every node); heard once, on the node it arrived at. `from` is who sent it.
   */
  readonly onStateless?: (name: string, payload: string, from: Identity) => void
}

/** Fan-out batches above this are sent before the end of the tick. */
const FANOUT_BATCH_BYTES = 256 * 1024
/**
 * Sync answers larger than this go as chunks of about this size, paced by the joiner's socket. Small
 * enough that a socket's send buffer (uWS keeps its capacity until the socket closes) stays small:
 * 150 joiners of a 4 MB building held 143 MiB more RSS with 1 MiB chunks, 41 MiB with 256 KiB.
 */
const FIRST_SYNC_CHUNK_BYTES = 256 * 1024
/** Cluster-wide compaction lease (shared storage); released as soon as compaction ends. */
const COMPACTION_LEASE_MS = 30_000
/** Shipping counts as lagging (readiness `degraded`) when its oldest entry is older than this. */
const SHIP_LAG_WARN_MS = 30_000

export interface Atrium {
  readonly port: number
  readonly metrics: Metrics
  readonly registry: DocumentRegistry
  readonly compactor: Compactor
  /** Cluster mode (REDIS_URL or REDIS_CLUSTER_NODES), else null. */
  readonly cluster: ClusterNode | null
  /**
   * Sends a stateless message to every Hocuspocus client of `name`, on every node (the provider's
   * `stateless` event). y-websocket clients have no such message.
   */
  broadcastStateless(name: string, payload: string): void
  /** Stops accepting, closes sockets with 1001, flushes every document. Idempotent. */
  close(): Promise<{ unflushedUpdates: number }>
}

/** Starts an Atrium server in this process: the library entry (the CLI, main.ts, is a thin wrapper around it). */
export async function createAtrium({ config, logger, store: givenStore, hooks = {} }: AtriumOptions): Promise<Atrium> {
  assertNativeUws()
  // Secure by default: before anything is opened, refuse a reachable server nobody guards.
  const authProblem = authStartupProblem(config, hooks.authenticate !== undefined)
  if (authProblem) throw new InsecureStartup(authProblem)
  const revocations = new Revocations()
  const guard = <A extends unknown[]>(hook: ((...args: A) => void) | undefined, name: string) =>
    hook &&
    ((...args: A) => {
      try {
        hook(...args)
      } catch (err) {
        logger.error({ err, hook: name }, 'an embedding hook threw')
      }
    })
  const onStore = guard(hooks.onStore, 'onStore')
  const onStateless = guard(hooks.onStateless, 'onStateless')
  const auth = createAuthenticator(config, (identity) => revocations.revokes(identity), hooks.authenticate)
  // Made once the sockets are mounted (it closes their sessions); the cluster hands it announcements.
  let revoker: RevocationService | null = null
  const metrics = createMetrics()
  // Checked beside the start-up, not in its way: a slow identity provider must not delay listening.
  if (config.AUTH_JWKS_URL && !hooks.authenticate) {
    void probeJwks(config.AUTH_JWKS_URL).then((problem) => {
      if (!problem) return
      logger.error(
        { url: config.AUTH_JWKS_URL, problem },
        'AUTH_JWKS_URL cannot be fetched: every token is refused (4531, REST 503, both retryable) until it answers; each new connection tries again',
      )
    })
  }
  const pool = new WorkerPool(config.WORKER_THREADS)
  const { store, mongo } = givenStore ? { store: givenStore, mongo: null } : storageFrom(config, logger, metrics, pool)
  const shipping = store instanceof ShippingStore ? store : null
  // The compactor counts log entries where it compacts: locally, or as they reach the shared store.
  // (It is made below, after the cluster its lease comes from; it is only called once an append is durable.)
  const groupCommit = new GroupCommit({
    store,
    intervalMs: config.FLUSH_INTERVAL_MS,
    logger,
    metrics,
    onDurable: (names) => {
      acks.advanced()
      if (!shipping) compactor.appended(names)
      onStore?.(names)
    },
  })
  // Hocuspocus clients' updates are acknowledged once durable here (the local log in MongoDB mode).
  const acks = new DurableAcks(groupCommit.watermark)
  const cluster = clusterFrom(config, logger, {
    durability: groupCommit.watermark,
    persist: (name, update) => groupCommit.enqueue(name, update),
    // With a store all nodes share, the node a change arrived on is the one that stores it.
    persistRemote: store.shared !== true,
    metrics,
    revoked: (payload) => revoker?.received(payload),
    ready: () => void revoker?.synchronize(),
  })
  // Compaction works on the store every node loads from: with shipping, the shared one.
  const compactionStore = shipping ? shipping.remote : store
  // With a store every node shares, compaction of a document runs on one node at a time.
  // (Merging is deterministic, so a lease that expires under a slow compactor costs work, not data.)
  // A single node (no cluster) needs no lease.
  const lease = store.shared && cluster ? (name: string) => cluster.kv.lease(`compact:${name}`, COMPACTION_LEASE_MS) : undefined
  const compactor = new Compactor({ store: compactionStore, pool, threshold: config.COMPACT_THRESHOLD, logger, metrics, lease })
  if (shipping) {
    metrics.beforeScrape.push(() => updateShippingGauges(shipping, metrics))
    shipping.onShipped = (names) => compactor.appended([...names.keys()])
    shipping.observer = {
      shipped: (entries) => metrics.shippedEntries.inc(entries),
      failed: () => metrics.shipFailures.inc(),
      coalesced: (name, entries, before, after) =>
        logger.info({ doc: name, entries, before, after }, 'merged the queued updates of a document while the shared store is unavailable'),
    }
  }

  const app = uWS.App()
  const fanout = { sent: (_bytes: number) => {} }
  const publisher = createPublisher(app, metrics, fanout)
  const compute = new ComputeService(metrics, {
    shared: cluster?.kv ?? null,
    merge: (parts) => pool.merge(parts),
    mergeFailed: (doc, err) => logger.warn({ err, doc: doc.name }, 'merging document parts failed; retried when they grow again'),
  })
  const schemaDocs = new RegExp(config.SCHEMA_DOCS)
  const writer = writerOptions(config)
  metrics.beforeScrape.push(() => metrics.updateJobBytes.set(writer.inFlight.bytes))
  const firstSyncChunkBytes = Math.min(FIRST_SYNC_CHUNK_BYTES, config.MAX_BACKPRESSURE_BYTES / 4)
  const registry: DocumentRegistry = new DocumentRegistry({
    cluster: cluster ?? undefined,
    store,
    groupCommit,
    compactor,
    publisher,
    unloadGraceMs: config.DOC_UNLOAD_GRACE_MS,
    maxDocumentBytes: config.MAX_DOCUMENT_BYTES,
    // An embedding's hook that throws must not break the change it is told about: it is logged.
    onChange: guard(hooks.onChange, 'onChange'),
    onLoad: guard(hooks.onLoad, 'onLoad'),
    batchBytes: FANOUT_BATCH_BYTES,
    logger,
    metrics,
    schemaDocs,
    // Compute reads of site documents are common: their compute feed starts with the load.
    created: (doc) => {
      if (schemaDocs.test(doc.name)) compute.feed(doc)
    },
    onUnload: (doc) => compute.forget(doc),
    merge: (updates) => pool.merge(updates),
    firstSync: {
      chunkBytes: firstSyncChunkBytes,
      // A chunk's work is about its bytes' (the model's weight per byte).
      chunk: (update) => pool.chunk({ update, maxWork: firstSyncChunkBytes * Work.byte }),
      rebase: (updates) => pool.rebase({ updates, maxWork: firstSyncChunkBytes * Work.byte }),
      rebaseFailed: (doc, err) => logger.warn({ err, doc }, 'keeping the full state ready failed; large first syncs of this document are encoded on demand'),
    },
    awareness: {
      limits: { maxStateBytes: config.MAX_AWARENESS_STATE_BYTES, maxIdsPerOwner: config.MAX_AWARENESS_IDS, timeoutMs: 30_000 },
      dropped: (reason) => metrics.awarenessDropped.inc({ reason }),
    },
    writer: {
      ...writer,
      observe: (outcome, origin) => {
        if ('plan' in outcome) {
          if (origin === 'client') metrics.updateWork.observe(outcome.work / 1e9)
          if (outcome.plan.count > 1) metrics.updatesSliced.inc({ origin })
        } else {
          metrics.updatesRefused.inc({ reason: outcome.limit ?? outcome.kind })
          if (outcome.kind === 'schema') metrics.schemaViolations.inc()
        }
      },
    },
  })
  let closing: Promise<{ unflushedUpdates: number }> | null = null
  const budgetBytes = memoryBudget(config.MEMORY_BUDGET_MB)
  metrics.memoryBudget.set(budgetBytes)
  const memory = new MemoryGuard({
    budgetBytes,
    rss: () => process.memoryUsage.rss(),
    live: () => {
      const m = process.memoryUsage()
      return m.heapUsed + m.external
    },
    unloadIdle: () => registry.unloadIdle(),
    observe: (e) => {
      if (e.kind === 'unloading') metrics.documentsUnloadedForMemory.inc(e.documents)
      const level = e.kind === 'resumed' ? 'info' : 'warn'
      logger[level]({ ...e, budget: budgetBytes }, e.kind === 'refusing' ? 'over the memory budget: refusing new documents (4534)' : `memory: ${e.kind}`)
    },
  })
  const loadRefusal = () => {
    const reason = memory.refusal()
    if (reason) metrics.loadsRefusedForMemory.inc()
    return reason
  }
  const ws = mountWebSocket(app, { config, registry: () => registry, logger, metrics, auth, acks, onStateless, loadRefusal }, fanout)
  const connections = ws.connections
  revoker = new RevocationService({
    list: revocations,
    file: join(resolve(config.DATA_DIR), 'revocations.json'),
    cluster: cluster
      ? { hashSet: (...a) => cluster.kv.hashSet(...a), hashAll: (key) => cluster.kv.hashAll(key), publishRevocation: (p) => cluster.publishRevocation(p) }
      : null,
    closeMatching: ws.closeMatching,
    keepS: config.AUTH_MAX_TOKEN_TTL_S + config.AUTH_CLOCK_SKEW_S,
    logger,
  })
  await revoker.start()
  if (cluster?.isUp) await revoker.synchronize()
  const revocationService = revoker
  if (config.WEB_DIR) mountStatic(app, loadWebFiles(resolve(config.WEB_DIR)))
  mountHttp(app, {
    auth,
    maxLoadedDocuments: config.MAX_LOADED_DOCUMENTS,
    loadRefusal,
    metricsElsewhere: config.METRICS_PORT !== undefined,
    limits: {
      snapshotsPerDocument: config.MAX_SNAPSHOTS_PER_DOCUMENT,
      snapshotsPerMinute: config.MAX_SNAPSHOTS_PER_MINUTE,
      computeRequestsPerS: config.MAX_COMPUTE_REQUESTS_PER_S,
    },
    revoke: (kind, value) => revocationService.revoke(kind, value),
    store,
    registry: () => registry,
    metrics,
    logger,
    compute,
    isSite: (name) => schemaDocs.test(name),
    maxJsonBytes: config.MAX_REST_JSON_BYTES,
    readiness: () => ({
      listening: closing === null,
      storageWritable: groupCommit.healthy,
      ...(cluster ? { redis: cluster.isUp ? 'up' : 'down' } : {}),
      ...(mongo ? { mongodb: mongo.up ? 'up' : 'down' } : {}),
      ...(shipping
        ? { shippingQueueBelowLimit: !shipping.queueFull, shipping: shipping.shippingHealthy && shipping.outbox.lagMs() < SHIP_LAG_WARN_MS ? 'ok' : 'lagging' }
        : {}),
    }),
  })

  const listenSocket = await new Promise<us_listen_socket>((resolvePromise, reject) => {
    app.listen(config.HOST, config.PORT, (socket) => (socket ? resolvePromise(socket) : reject(new Error(`cannot listen on ${config.HOST}:${config.PORT}`))))
  })
  const port = uWS.us_socket_local_port(listenSocket as never)
  const metricsListen = config.METRICS_PORT === undefined ? null : await listenMetrics(config, metrics, logger)
  logger.info(
    {
      host: config.HOST,
      port,
      metricsPort: metricsListen?.port,
      store: store.kind,
      node: cluster?.nodeId,
      busId: cluster?.busId,
      dataDir: givenStore ? undefined : resolve(config.DATA_DIR),
    },
    'listening',
  )

  const close = async () => {
    const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS
    logger.info({ connections: connections.size, documents: registry.size }, 'shutting down')
    uWS.us_listen_socket_close(listenSocket)
    if (metricsListen) uWS.us_listen_socket_close(metricsListen.socket)
    memory.stop()
    registry.close()
    for (const conn of [...connections]) conn.close(CloseCodes.GOING_AWAY)
    const unflushedUpdates = await groupCommit.close(deadline)
    if (unflushedUpdates > 0) logger.error({ unflushedUpdates }, 'shutdown deadline passed with updates not yet durable')
    // Durable locally already; shipping what it can now only spares the next start the work.
    await store.drain?.(deadline)
    if (shipping && shipping.outbox.entries > 0)
      logger.warn(
        { entries: shipping.outbox.entries },
        'shutting down with updates not yet shipped to MongoDB; they are durable here and shipped at the next start',
      )
    // A compaction in flight is safe to abandon (append-new-then-delete-old): do not overrun the deadline for it.
    await Promise.race([compactor.close(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())])
    await cluster?.close()
    await pool.close()
    await compute.close()
    registry.destroyAll()
    ws.stop()
    if (!givenStore) await store.close()
    logger.info({ unflushedUpdates }, 'shut down')
    return { unflushedUpdates }
  }

  return {
    port,
    metrics,
    registry,
    compactor,
    cluster,
    broadcastStateless: (name, payload) => {
      const message = encodeStatelessMessage(payload)
      const doc = registry.peek(name)
      if (doc) doc.relayStateless(message)
      else cluster?.publishStatelessTo(name, message)
    },
    close: () => (closing ??= close()),
  }
}

/** /metrics alone on METRICS_PORT. */
async function listenMetrics(config: Config, metrics: Metrics, logger: Logger): Promise<{ socket: us_listen_socket; port: number }> {
  const app = uWS.App()
  mountMetrics(app, metrics, logger)
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('only /metrics here')
  })
  const socket = await new Promise<us_listen_socket>((resolvePromise, reject) => {
    app.listen(config.HOST, config.METRICS_PORT!, (s) => (s ? resolvePromise(s) : reject(new Error(`cannot listen on ${config.HOST}:${config.METRICS_PORT}`))))
  })
  return { socket, port: uWS.us_socket_local_port(socket as never) }
}

function clusterFrom(
  config: Config,
  logger: Logger,
  parts: Pick<ConstructorParameters<typeof ClusterNode>[0], 'durability' | 'persist' | 'persistRemote' | 'metrics' | 'revoked' | 'ready'>,
): ClusterNode | null {
  const clusterNodes = config.REDIS_CLUSTER_NODES?.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':')
    return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) }
  })
  if (!config.REDIS_URL && !clusterNodes) return null
  parts.metrics.redisUp.set(0)
  return new ClusterNode({
    ...parts,
    nodeId: config.NODE_ID,
    prefix: config.REDIS_PREFIX,
    antiEntropyIntervalMs: config.ANTI_ENTROPY_INTERVAL_MS,
    heartbeatMs: config.CLUSTER_HEARTBEAT_MS,
    nodeTimeoutMs: config.CLUSTER_NODE_TIMEOUT_MS,
    logger: logger.child({ component: 'cluster' }),
    connect: (handlers) => {
      const bus = new RedisBus({ url: config.REDIS_URL, clusterNodes, logger: logger.child({ component: 'redis' }), maxReconnectDelayMs: 500, ...handlers })
      bus.start()
      return bus
    },
  })
}

/** The configured storage: the embedded store, or (MONGODB_URL) the local outbox shipped to MongoDB. */
function storageFrom(config: Config, logger: Logger, metrics: Metrics, pool: WorkerPool): { store: DocStore; mongo: MongoBackend | null } {
  const dataDir = resolve(config.DATA_DIR)
  if (!config.MONGODB_URL) return { store: new LmdbStore({ path: dataDir }), mongo: null }
  const log = logger.child({ component: 'mongodb' })
  const lastLogged = new Map<string, number>()
  const { store: remote, backend } = createMongoStore({
    ...mongoSettings({ ...config, MONGODB_URL: config.MONGODB_URL }),
    observer: {
      up: (up) => {
        metrics.mongoUp.set(up ? 1 : 0)
        if (up) log.info('MongoDB reachable')
        else log.warn('MongoDB unreachable: documents not loaded here cannot be served; edits of loaded ones queue locally')
      },
      error: (op, err) => {
        metrics.mongoErrors.inc({ op })
        // At most one line per operation per 10 s: an outage fails every attempt.
        const now = Date.now()
        if (now - (lastLogged.get(op) ?? 0) < 10_000) return
        lastLogged.set(op, now)
        log.error({ err, op }, 'MongoDB operation failed')
      },
      indexesReady: () => log.info({ db: config.MONGODB_DB }, 'MongoDB indexes ready'),
    },
  })
  metrics.mongoUp.set(0)
  if (config.MONGODB_WRITE_CONCERN !== 'majority')
    log.warn(
      { w: config.MONGODB_WRITE_CONCERN },
      'MongoDB write concern is not majority: a failover can roll back writes that were already removed from the local queue',
    )
  backend.start()
  const store = new ShippingStore({
    outbox: openLmdbOutbox(dataDir),
    remote,
    merge: (updates) => pool.merge(updates),
    batchBytes: config.SHIP_BATCH_BYTES,
    maxQueueBytes: config.SHIP_QUEUE_MAX_BYTES,
  })
  return { store, mongo: backend }
}

function updateShippingGauges(store: ShippingStore, metrics: Metrics): void {
  metrics.shipQueueEntries.set(store.outbox.entries)
  metrics.shipQueueBytes.set(store.outbox.bytes)
  metrics.shipLag.set(store.outbox.lagMs() / 1000)
}

/**
 * Wires one Atrium server from a validated config. No environment reads, no module-level
 * state: tests run several servers in one process.
 */
import { resolve } from 'node:path'
import type { us_listen_socket } from 'uWebSockets.js'
import type { DocStore } from '../persistence/doc-store.ts'
import { LmdbStore } from '../persistence/lmdb-store.ts'
import { CloseCodes } from '../shared/protocol/close-codes.ts'
import type { Config } from './config.ts'
import { RedisBus } from './cluster/bus.ts'
import { ClusterNode } from './cluster/cluster.ts'
import { Compactor } from './documents/compactor.ts'
import { GroupCommit } from './documents/group-commit.ts'
import { DocumentRegistry } from './documents/registry.ts'
import { mountHttp } from './http/routes.ts'
import type { Logger } from './log.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { createPublisher, mountWebSocket } from './transport/ws-server.ts'
import { assertNativeUws, uWS } from './transport/uws.ts'
import { WorkerPool } from './workers/pool.ts'

export interface AtriumOptions {
  readonly config: Config
  readonly logger: Logger
  /** Storage to use instead of the embedded LMDB store under DATA_DIR (not closed by the server). */
  readonly store?: DocStore
}

/** Fan-out batches above this are sent before the end of the tick. */
const FANOUT_BATCH_BYTES = 256 * 1024
/** Cluster-wide compaction lease (shared storage); released as soon as compaction ends. */
const COMPACTION_LEASE_MS = 30_000

export interface Atrium {
  readonly port: number
  readonly metrics: Metrics
  readonly registry: DocumentRegistry
  readonly compactor: Compactor
  /** Cluster mode (REDIS_URL or REDIS_CLUSTER_NODES), else null. */
  readonly cluster: ClusterNode | null
  /** Stops accepting, closes sockets with 1001, flushes every document. Idempotent. */
  close(): Promise<{ unflushedUpdates: number }>
}

export async function startAtrium({ config, logger, store: givenStore }: AtriumOptions): Promise<Atrium> {
  assertNativeUws()
  const metrics = createMetrics()
  const store = givenStore ?? new LmdbStore({ path: resolve(config.DATA_DIR) })
  const pool = new WorkerPool(config.WORKER_THREADS)
  // With a store every node shares, compaction of a document runs on one node at a time.
  // (Merging is deterministic, so a lease that expires under a slow compactor costs work, not data.)
  // A single node (no cluster) needs no lease.
  const lease = store.shared ? (name: string) => (cluster ? cluster.acquireLease(`compact:${name}`, COMPACTION_LEASE_MS) : Promise.resolve({ release: async () => {} })) : undefined
  const compactor = new Compactor({ store, pool, threshold: config.COMPACT_THRESHOLD, logger, metrics, lease })
  const groupCommit = new GroupCommit({ store, intervalMs: config.FLUSH_INTERVAL_MS, logger, metrics, onDurable: (names) => compactor.appended(names) })

  const app = uWS.App()
  const publisher = createPublisher(app, metrics)
  const cluster = clusterFrom(config, logger, {
    registry: () => registry,
    groupCommit,
    // With a store all nodes share, the node a change arrived on is the one that stores it.
    persistRemote: store.shared !== true,
    metrics,
  })
  const registry: DocumentRegistry = new DocumentRegistry({
    cluster: cluster ?? undefined,
    store,
    groupCommit,
    compactor,
    publisher,
    unloadGraceMs: config.DOC_UNLOAD_GRACE_MS,
    batchBytes: FANOUT_BATCH_BYTES,
    logger,
    metrics,
  })
  let closing: Promise<{ unflushedUpdates: number }> | null = null
  const { connections } = mountWebSocket(app, { config, registry: () => registry, logger, metrics })
  mountHttp(app, {
    store,
    registry: () => registry,
    metrics,
    logger,
    readiness: () => ({ listening: closing === null, storageWritable: groupCommit.healthy, ...(cluster ? { redis: cluster.isUp ? 'up' : 'down' } : {}) }),
  })

  const listenSocket = await new Promise<us_listen_socket>((resolvePromise, reject) => {
    app.listen(config.HOST, config.PORT, (socket) => (socket ? resolvePromise(socket) : reject(new Error(`cannot listen on ${config.HOST}:${config.PORT}`))))
  })
  const port = uWS.us_socket_local_port(listenSocket as never)
  logger.info({ host: config.HOST, port, store: store.kind, node: cluster?.nodeId, busId: cluster?.busId, dataDir: givenStore ? undefined : resolve(config.DATA_DIR) }, 'listening')

  const close = async () => {
    const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS
    logger.info({ connections: connections.size, documents: registry.size }, 'shutting down')
    uWS.us_listen_socket_close(listenSocket)
    registry.close()
    for (const conn of [...connections]) conn.close(CloseCodes.GOING_AWAY)
    const unflushedUpdates = await groupCommit.close(deadline)
    if (unflushedUpdates > 0) logger.error({ unflushedUpdates }, 'shutdown deadline passed with updates not yet durable')
    await compactor.close()
    await cluster?.close()
    await pool.close()
    registry.destroyAll()
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
    close: () => (closing ??= close()),
  }
}

function clusterFrom(config: Config, logger: Logger, parts: Pick<ConstructorParameters<typeof ClusterNode>[0], 'registry' | 'groupCommit' | 'persistRemote' | 'metrics'>): ClusterNode | null {
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

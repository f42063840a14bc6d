/**
 * Prometheus metrics, one registry per server instance (no global default registry, so
 * two servers can share a process in tests). Hot-path code holds direct references to
 * the collectors; it never looks metrics up by name.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  const m = {
    registry,
    /** Run before each scrape: gauges that are read from state rather than kept up to date. */
    beforeScrape: [] as (() => void)[],
    connections: new Gauge({ name: 'atrium_connections', help: 'Open WebSocket connections.', registers: [registry] }),
    documentsLoaded: new Gauge({ name: 'atrium_documents_loaded', help: 'Documents loaded in memory.', registers: [registry] }),
    messagesIn: new Counter({
      name: 'atrium_messages_received_total',
      help: 'WebSocket messages received, by type.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    bytesIn: new Counter({ name: 'atrium_bytes_received_total', help: 'WebSocket payload bytes received.', registers: [registry] }),
    messagesOut: new Counter({
      name: 'atrium_messages_sent_total',
      help: 'WebSocket messages sent (a publish counts once per subscriber).',
      registers: [registry],
    }),
    bytesOut: new Counter({
      name: 'atrium_bytes_sent_total',
      help: 'WebSocket payload bytes sent (a publish counts once per subscriber).',
      registers: [registry],
    }),
    outboundBytes: new Gauge({
      name: 'atrium_outbound_buffered_bytes',
      help: 'Bytes buffered for all sockets, not yet taken by their clients (bounded by MAX_OUTBOUND_BYTES).',
      registers: [registry],
    }),
    protocolErrors: new Counter({
      name: 'atrium_protocol_errors_total',
      help: 'Connections closed for bad input, by close code name.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    updatesRefused: new Counter({
      name: 'atrium_updates_refused_total',
      help: 'Client updates refused before anything of them was applied, by reason: a limit (structs, new_clients, delete_ranges, work, conflicts, pending, roots, subdocuments, busy, document), invalid, or schema.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    memoryBudget: new Gauge({
      name: 'atrium_memory_budget_bytes',
      help: 'The memory budget (MEMORY_BUDGET_MB, or 80 % of the container’s or machine’s memory): past 90 % idle documents are unloaded, past 100 % new ones refused.',
      registers: [registry],
    }),
    documentsUnloadedForMemory: new Counter({
      name: 'atrium_documents_unloaded_for_memory_total',
      help: 'Documents nobody was connected to, unloaded before their grace period because the node neared its memory budget.',
      registers: [registry],
    }),
    loadsRefusedForMemory: new Counter({
      name: 'atrium_loads_refused_for_memory_total',
      help: 'Connections and requests refused (4534, REST 503) because loading their document would take the node past its memory budget.',
      registers: [registry],
    }),
    hocuspocusIgnored: new Counter({
      name: 'atrium_hocuspocus_ignored_total',
      help: 'Hocuspocus frames ignored or documents denied without closing the socket, by reason: not_authenticated (a frame for a document the socket has not opened), auth_again, unknown_type, invalid_name, too_many_documents, stateless_without_right.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    durableAckWait: new Histogram({
      name: 'atrium_durable_ack_wait_seconds',
      help: 'From an update applied to its acknowledgement (Hocuspocus SyncStatus) sent: the wait for the group commit to make it durable.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    statelessMessages: new Counter({
      name: 'atrium_stateless_messages_total',
      help: 'Stateless messages (Hocuspocus) received from clients and relayed.',
      registers: [registry],
    }),
    updatesIgnored: new Counter({
      name: 'atrium_updates_ignored_total',
      help: 'Client updates ignored without closing the connection, by reason: read_only (a session without the write right).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    httpRateLimited: new Counter({
      name: 'atrium_http_rate_limited_total',
      help: 'REST requests answered 429 because their address sent too many compute requests (MAX_COMPUTE_REQUESTS_PER_S).',
      registers: [registry],
    }),
    authRefused: new Counter({
      name: 'atrium_auth_refused_total',
      help: 'Connections and REST requests refused by access control, by reason: missing, invalid, expired (token) or forbidden (no right).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    updateWork: new Histogram({
      name: 'atrium_update_work_seconds',
      help: 'Work of each admitted client update as modelled before applying it (integration, splits, deletes).',
      buckets: [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
    updatesSliced: new Counter({
      name: 'atrium_updates_sliced_total',
      help: 'Updates applied in slices over several turns of the event loop (large ones), by origin.',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    updateJobBytes: new Gauge({ name: 'atrium_update_job_bytes', help: 'Bytes of large updates being admitted or applied in slices.', registers: [registry] }),
    awarenessDropped: new Counter({
      name: 'atrium_awareness_dropped_total',
      help: 'Awareness entries dropped, by reason: foreign (an id another connection or node holds), too_many (past MAX_AWARENESS_IDS), clock_jump.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    schemaViolations: new Counter({
      name: 'atrium_schema_violations_total',
      help: 'Client updates refused because they break the site schema (the connection is closed with 4422).',
      registers: [registry],
    }),
    computeRequests: new Counter({
      name: 'atrium_compute_requests_total',
      help: "Compute requests (analytics, SVG export), by kind and where the result came from: local cache, the cluster's shared cache, or computed.",
      labelNames: ['kind', 'cache'] as const,
      registers: [registry],
    }),
    computeTime: new Histogram({
      name: 'atrium_compute_seconds',
      help: 'Compute time of a cache miss, by kind (worker thread; the event loop only waits).',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    updateApply: new Histogram({
      name: 'atrium_update_apply_seconds',
      help: 'Time to apply one client update to its document.',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    storageLoads: new Counter({ name: 'atrium_storage_loads_total', help: 'Document loads from storage.', registers: [registry] }),
    documentsQuarantined: new Counter({
      name: 'atrium_documents_quarantined_total',
      help: 'Loads refused because the stored document would stall the node even merged (quarantined; npm run docs -- repair).',
      registers: [registry],
    }),
    storageLoadFailures: new Counter({ name: 'atrium_storage_load_failures_total', help: 'Document loads that failed.', registers: [registry] }),
    storageFlush: new Histogram({
      name: 'atrium_storage_flush_seconds',
      help: 'Group-commit latency: one batched, durable append.',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    storageFlushFailures: new Counter({
      name: 'atrium_storage_flush_failures_total',
      help: 'Group commits that failed (retried with backoff).',
      registers: [registry],
    }),
    storagePendingUpdates: new Gauge({ name: 'atrium_storage_pending_updates', help: 'Accepted updates not yet durable.', registers: [registry] }),
    compactions: new Counter({
      name: 'atrium_compactions_total',
      help: 'Compactions of a document log into a snapshot.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    compactionTime: new Histogram({
      name: 'atrium_compaction_seconds',
      help: 'Compaction time (load, merge in a worker, write).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [registry],
    }),
    compactionBytesSaved: new Counter({
      name: 'atrium_compaction_bytes_saved_total',
      help: 'Bytes of snapshot + log replaced by smaller snapshots.',
      registers: [registry],
    }),
    mongoUp: new Gauge({ name: 'atrium_mongodb_up', help: 'MongoDB configured: 1 while its last operation or ping succeeded, else 0.', registers: [registry] }),
    mongoErrors: new Counter({
      name: 'atrium_mongodb_errors_total',
      help: 'Failed MongoDB operations, by operation.',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    shipQueueEntries: new Gauge({
      name: 'atrium_ship_queue_entries',
      help: 'MongoDB mode: updates durable locally, not yet confirmed by MongoDB (shipping lag in entries).',
      registers: [registry],
    }),
    shipQueueBytes: new Gauge({ name: 'atrium_ship_queue_bytes', help: 'MongoDB mode: bytes in the local shipping queue.', registers: [registry] }),
    shipLag: new Gauge({
      name: 'atrium_ship_lag_seconds',
      help: 'MongoDB mode: age of the oldest update not yet confirmed by MongoDB (0 when none).',
      registers: [registry],
    }),
    shippedEntries: new Counter({ name: 'atrium_shipped_entries_total', help: 'MongoDB mode: local log entries confirmed by MongoDB.', registers: [registry] }),
    shipFailures: new Counter({
      name: 'atrium_ship_failures_total',
      help: 'MongoDB mode: shipping attempts that failed (retried with backoff).',
      registers: [registry],
    }),
    busPublished: new Counter({
      name: 'atrium_bus_messages_published_total',
      help: 'Messages published on the cluster bus, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    busReceived: new Counter({
      name: 'atrium_bus_messages_received_total',
      help: 'Messages from other nodes received on the cluster bus, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    busDropped: new Counter({
      name: 'atrium_bus_messages_dropped_total',
      help: 'Messages not published because Redis was unreachable (anti-entropy repairs the gap).',
      registers: [registry],
    }),
    busInvalid: new Counter({
      name: 'atrium_bus_invalid_messages_total',
      help: 'Bus messages ignored because they could not be decoded or applied.',
      registers: [registry],
    }),
    busLatency: new Histogram({
      name: 'atrium_bus_latency_seconds',
      help: 'Origin publish to remote apply, for updates and awareness (needs synchronised clocks across hosts).',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    busRescuedUpdates: new Counter({
      name: 'atrium_bus_rescued_updates_total',
      help: 'Shared storage: updates persisted here because their origin node went silent before confirming them durable.',
      registers: [registry],
    }),
    antiEntropyRepairs: new Counter({
      name: 'atrium_anti_entropy_repairs_total',
      help: 'Anti-entropy repairs (state differences) sent to or received from other nodes.',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    antiEntropyBytes: new Counter({
      name: 'atrium_anti_entropy_bytes_total',
      help: 'Bytes of anti-entropy repairs.',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    redisUp: new Gauge({ name: 'atrium_redis_up', help: 'Cluster mode: 1 while both Redis connections are up and subscribed, else 0.', registers: [registry] }),
    clusterNodes: new Gauge({ name: 'atrium_cluster_nodes', help: 'Cluster nodes heard from recently, this one included.', registers: [registry] }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>

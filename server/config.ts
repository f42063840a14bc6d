/**
 * Configuration: every environment variable Atrium reads, with its default and its rule,
 * in one place. Parsed once by main.ts, frozen, and passed down; nothing else reads
 * process.env, so two servers can run in one process with different configs.
 */
import { z } from 'zod'
import { AtriumError } from '../shared/errors.ts'
import { DEFAULT_MAX_AWARENESS_PER_S } from '../shared/protocol/awareness-tiers.ts'

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
/** Whether `source` compiles as a regular expression. */
function isRegExp(source: string): boolean {
  try {
    new RegExp(source)
    return true
  } catch {
    return false
  }
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')

/** Variable name → schema with default and a short description for the README/usage. */
export const ENV_SPEC = {
  PORT: { schema: int(0, 65535).default(1234), doc: 'TCP port for WebSocket and HTTP (0 = any free port).' },
  HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Interface to listen on. Loopback by default: listening on any other interface needs AUTH_SECRET, AUTH_JWKS_URL or AUTH=none.',
  },
  AUTH: {
    schema: z.enum(['jwt', 'none']).optional(),
    doc: 'jwt: every connection and request needs a token (AUTH_SECRET or AUTH_JWKS_URL); none: open to anyone who can reach the port (explicitly). Unset: jwt when a secret or JWKS URL is set, else open on loopback only.',
  },
  AUTH_SECRET: {
    schema: z
      .string()
      .refine((v) => v.length >= 32, 'must be at least 32 characters (HS256 needs 256 bits)')
      .optional(),
    doc: 'Shared secret that signs tokens (HS256), at least 32 characters. `npm run token` mints tokens with it.',
  },
  AUTH_JWKS_URL: {
    schema: z
      .string()
      .regex(/^https?:\/\/\S+$/)
      .optional(),
    doc: 'URL of a JSON Web Key Set whose keys sign tokens (RS256 or ES256); keys are cached and refetched when an unknown key id appears.',
  },
  AUTH_ISSUER: { schema: z.string().min(1).max(256).optional(), doc: 'When set, a token must carry this `iss`.' },
  AUTH_AUDIENCE: { schema: z.string().min(1).max(256).optional(), doc: 'When set, a token must carry this `aud`.' },
  ALLOWED_ORIGINS: {
    schema: z
      .string()
      .regex(/^(\*|https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*)$/, 'a comma-separated list of origins such as https://app.example.com, or *')
      .optional(),
    doc: 'Web pages allowed to open WebSockets (the Origin header, checked at the upgrade): a comma-separated list such as https://app.example.com, or * for any. Unset: only pages served from the same host as Atrium. Clients that send no Origin (Node, bots, headsets) are not affected.',
  },
  AUTH_MAX_TOKEN_TTL_S: {
    schema: int(60, 90 * 86400).default(7 * 86400),
    doc: 'Longest a token may still be valid when presented (its `exp` from now); longer-lived tokens are refused, so a revocation needs to be kept only this long.',
  },
  AUTH_CLOCK_SKEW_S: { schema: int(0, 300).default(30), doc: 'Clock difference tolerated when checking `exp` and `nbf`, in seconds.' },
  METRICS_PORT: {
    schema: int(0, 65535).optional(),
    doc: 'Serve /metrics on this port (same HOST) instead of the main one, for deployments that expose only the main port (0 = any free port).',
  },
  DATA_DIR: { schema: z.string().min(1).default('./data'), doc: 'Directory of the embedded store (LMDB).' },
  WEB_DIR: {
    schema: z.string().default('client/web/dist'),
    doc: 'The built browser editor, served at / (assets under /+/); `npm start` builds it when its sources changed. Empty: no editor.',
  },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), doc: 'pino log level.' },
  LOG_PRETTY: { schema: bool.default(false), doc: 'Human-readable logs instead of JSON lines (needs pino-pretty).' },
  MAX_MESSAGE_BYTES: {
    schema: int(1024, 256 * 1024 * 1024).default(8 * 1024 * 1024),
    doc: 'Largest WebSocket message accepted; larger ones close the connection with 4414 (frames over twice this are dropped by uWebSockets.js: 1006).',
  },
  FLUSH_INTERVAL_MS: { schema: int(1, 1000).default(25), doc: 'Group-commit window: an accepted update is on disk at most this long (plus one fsync) later.' },
  DOC_UNLOAD_GRACE_MS: { schema: int(0, 3_600_000).default(10_000), doc: 'How long a document stays loaded after its last client left.' },
  COMPACT_THRESHOLD: {
    schema: int(2, 1_000_000).default(500),
    doc: 'Update-log length of a document that triggers compaction into a snapshot (in a worker thread).',
  },
  WORKER_THREADS: { schema: int(1, 64).default(2), doc: 'Size of the worker-thread pool (compaction, big encodes).' },
  MAX_BACKPRESSURE_BYTES: {
    schema: int(64 * 1024, 1024 ** 3).default(16 * 1024 * 1024),
    doc: 'Outbound bytes buffered for one socket before it is closed as too slow (it reconnects and resyncs).',
  },
  MAX_OUTBOUND_BYTES: {
    schema: int(1024 * 1024, 64 * 1024 ** 3).default(256 * 1024 * 1024),
    doc: 'Bytes buffered for all sockets of the node together; past it, the sockets holding the most are closed with 4509 (they reconnect and resync). Large first syncs keep at most an eighth of it buffered at once; the other joiners wait their turn.',
  },
  PRELOAD_QUEUE_MESSAGES: {
    schema: int(1, 100_000).default(1000),
    doc: 'Messages buffered per connection while its document loads (and at most 2 × MAX_MESSAGE_BYTES of them); past it 4508.',
  },
  MAX_UPDATE_STRUCTS: {
    schema: int(1000, 10_000_000).default(300_000),
    doc: 'Most structs (inserted items, deleted runs, GC markers) in one client update; more is refused with 4413.',
  },
  MAX_UPDATE_NEW_CLIENTS: {
    schema: int(1, 1_000_000).default(5000),
    doc: "Most client ids one update may add to a document (each costs memory and bytes in every joiner's state vector); more is refused with 4413.",
  },
  MAX_CONNECTION_NEW_CLIENTS: {
    schema: int(1, 10_000_000).default(20_000),
    doc: 'Most client ids one connection may add over its life; past it, its updates are refused with 4413.',
  },
  MAX_UPDATE_DELETE_RANGES: {
    schema: int(100, 10_000_000).default(100_000),
    doc: 'Most deleted ranges in one update after merging duplicates and overlaps (four times as many before); more is refused with 4413.',
  },
  MAX_UPDATE_CONFLICT_STEPS: {
    schema: int(10_000, 1_000_000_000).default(1_000_000),
    doc: 'Conflict-scan steps (Yjs placing concurrent inserts at one position) one update may cost, plus 128 per struct of the update; more is refused with 4413. A million steps is about 60 ms of Yjs.',
  },
  MAX_REST_JSON_BYTES: {
    schema: int(1024, 1024 ** 3).default(16 * 1024 * 1024),
    doc: 'Largest document served as JSON by GET /api/documents/<name> (built in the compute worker); larger ones answer 413.',
  },
  MAX_AWARENESS_STATE_BYTES: {
    schema: int(256, 1024 * 1024).default(32 * 1024),
    doc: "Largest awareness state (one client's presence, as JSON); a larger one closes the connection with 4415.",
  },
  MAX_AWARENESS_IDS: {
    schema: int(1, 1000).default(8),
    doc: 'Awareness client ids one connection may hold in a document; states for more are dropped (and counted).',
  },
  MAX_UPDATE_WORK_MS: {
    schema: int(10, 600_000).default(10_000),
    doc: 'Most work, in milliseconds as modelled before applying, one client update may cost; more is refused with 4413. Work over a few milliseconds is done in slices, never blocking the event loop.',
  },
  MAX_MESSAGES_PER_S: {
    schema: int(1, 1_000_000).default(1000),
    doc: 'Messages one connection may send per second, on average; past it (and its burst) it is closed with 4429.',
  },
  MESSAGE_BURST: {
    schema: int(1, 10_000_000).default(10_000),
    doc: 'Messages one connection may send at once above MAX_MESSAGES_PER_S (a client replaying typing).',
  },
  MAX_BYTES_PER_S: {
    schema: int(1024, 1024 ** 3).default(8 * 1024 * 1024),
    doc: 'Bytes one connection may send per second, on average; past it (and its burst) it is closed with 4429.',
  },
  BYTES_BURST: {
    schema: int(1024, 16 * 1024 ** 3).default(64 * 1024 * 1024),
    doc: 'Bytes one connection may send at once above MAX_BYTES_PER_S (a large upload).',
  },
  MAX_AWARENESS_PER_S: {
    schema: int(1, 10_000).default(DEFAULT_MAX_AWARENESS_PER_S),
    doc: 'Awareness messages of its own presence one connection may send per second (XR headsets send 60–90); past it (and its burst) it is closed with 4429. Echoes of others’ states (y-websocket 3.1 sends them) count only as messages.',
  },
  AWARENESS_BURST: { schema: int(1, 100_000).default(600), doc: 'Awareness messages one connection may send at once above MAX_AWARENESS_PER_S.' },
  MAX_DOCUMENTS_PER_CONNECTION: {
    schema: int(1, 100_000).default(256),
    doc: 'Documents one Hocuspocus socket may have open (and opening) at once; an auth message for one more is answered permission denied.',
  },
  HOCUSPOCUS_AUTH_TIMEOUT_S: {
    schema: int(1, 3600).default(30),
    doc: 'A Hocuspocus socket that has no document open for this long (none authenticated yet, or all closed) is closed with 4408.',
  },
  MAX_STATELESS_BYTES: {
    schema: int(16, 16 * 1024 * 1024).default(65_536),
    doc: 'Largest stateless message (Hocuspocus) a client may send; a larger one ends its document with 4416. Each also counts against MAX_AWARENESS_PER_S.',
  },
  MAX_CONNECTIONS: {
    schema: int(1, 10_000_000).default(50_000),
    doc: 'Sockets one node holds; more are closed at once with 4532 (retryable: another node, or later).',
  },
  MAX_CONNECTIONS_PER_ADDRESS: {
    schema: int(1, 10_000_000).default(20_000),
    doc: 'Sockets from one remote address; more are closed with 4532. High by default: offices and proxies share one address, and so does a load generator (atrium-load); lower it when clients come from many addresses.',
  },
  MAX_LOADED_DOCUMENTS: {
    schema: int(1, 10_000_000).default(10_000),
    doc: 'Documents one node holds in memory; a connection to one more is closed with 4533 (retryable), REST answers 503.',
  },
  MEMORY_BUDGET_MB: {
    schema: int(64, 16 * 1024 * 1024).optional(),
    doc: 'Memory this node may use (RSS). From 90 % of it, documents nobody is connected to are unloaded at once; from 100 %, new documents are refused (4534, REST 503, both retryable) until it is back under 95 %, or its live memory (V8 heap and buffers) under 70 % (freed pages malloc keeps count in RSS but are reused). Default: 80 % of the container’s memory limit, else of the machine’s.',
  },
  MAX_DOCUMENT_BYTES: {
    schema: int(1024 * 1024, 64 * 1024 ** 3).default(512 * 1024 * 1024),
    doc: 'Largest a document may grow (the bytes of every update applied since it was loaded, an upper bound of its encoded size); a client update that would take it past this is refused with 4413 and nothing of it is applied.',
  },
  MAX_SNAPSHOTS_PER_DOCUMENT: {
    schema: int(1, 100_000).default(200),
    doc: 'Named snapshots one document may keep (each is a whole copy); past it POST answers 409.',
  },
  MAX_SNAPSHOTS_PER_MINUTE: {
    schema: int(1, 10_000).default(10),
    doc: 'Named snapshots of one document per minute, counted from the store (so across nodes); past it POST answers 429.',
  },
  MAX_COMPUTE_REQUESTS_PER_S: {
    schema: int(1, 100_000).default(20),
    doc: 'Compute requests (document JSON, analytics, export, objects, snapshots) per second from one address, burst 4 times that; past it 429.',
  },
  IDLE_TIMEOUT_S: { schema: int(8, 960).default(120), doc: 'Close a socket that sent nothing (not even a pong) for this long.' },
  SHUTDOWN_TIMEOUT_MS: { schema: int(100, 600_000).default(10_000), doc: 'Upper bound for a graceful shutdown before the process exits anyway.' },
  REDIS_URL: {
    schema: z
      .string()
      .regex(/^rediss?:\/\/\S+$/)
      .optional(),
    doc: 'Turns cluster mode on: redis:// or rediss:// URL of the Redis whose pub/sub links the nodes.',
  },
  REDIS_CLUSTER_NODES: {
    schema: z
      .string()
      .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/)
      .optional(),
    doc: 'Cluster mode on Redis Cluster: comma-separated host:port seed nodes (instead of REDIS_URL).',
  },
  REDIS_PREFIX: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/)
      .default('atrium:'),
    doc: 'Prefix of every Redis channel and key, so deployments can share a Redis.',
  },
  NODE_ID: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    doc: "This node's name in the cluster (default: a random UUID per start).",
  },
  ANTI_ENTROPY_INTERVAL_MS: {
    schema: int(100, 3_600_000).default(10_000),
    doc: "How often a node compares each loaded document's state with the other nodes (also done on load and whenever Redis comes back).",
  },
  CLUSTER_HEARTBEAT_MS: { schema: int(50, 60_000).default(1000), doc: 'Heartbeat period on the cluster channel.' },
  CLUSTER_NODE_TIMEOUT_MS: {
    schema: int(200, 600_000).default(5000),
    doc: "A node not heard from for this long counts as gone: its clients' awareness is removed.",
  },
  SCHEMA_DOCS: {
    schema: z.string().min(1).max(500).refine(isRegExp, 'not a valid regular expression').default('^site/'),
    doc: 'Regular expression of the document names whose client updates are checked against the site schema (shared/schema); `^$` checks none.',
  },
  MONGODB_URL: {
    schema: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/\S+$/)
      .optional(),
    doc: 'Turns MongoDB mode on: mongodb:// or mongodb+srv:// URL. Documents live in MongoDB (shared by every node); DATA_DIR keeps the local write-ahead log shipped to it.',
  },
  MONGODB_DB: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/)
      .default('atrium'),
    doc: 'MongoDB database name.',
  },
  MONGODB_WRITE_CONCERN: {
    schema: z
      .string()
      .regex(/^(majority|[1-9]\d?)$/)
      .default('majority'),
    doc: 'Write concern `w` of every MongoDB write: majority or a number of members (at least 1: writes must be acknowledged).',
  },
  MONGODB_JOURNAL: { schema: bool.default(true), doc: 'Whether MongoDB writes wait for the on-disk journal (write concern `j`).' },
  MONGODB_TIMEOUT_MS: {
    schema: int(100, 120_000).default(5000),
    doc: 'MongoDB server-selection and connect timeout: how long an operation waits for an unreachable MongoDB before it fails.',
  },
  SHIP_BATCH_BYTES: {
    schema: int(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
    doc: 'MongoDB mode: largest batch of the local log shipped in one insertMany.',
  },
  SHIP_QUEUE_MAX_BYTES: {
    schema: int(1024 * 1024, 32 * 1024 ** 3).default(1024 ** 3),
    doc: 'MongoDB mode: bound of the local shipping queue on disk; past it new updates wait in memory (retried) and /readyz fails.',
  },
} as const

type Spec = typeof ENV_SPEC
export type Config = Readonly<{ [K in keyof Spec]: z.output<Spec[K]['schema']> }>

export class ConfigError extends AtriumError {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    readonly detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`)
  }
}

function describeRule(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>
  if (Array.isArray(json.enum)) return `one of ${json.enum.join(', ')}`
  if (json.type === 'integer' || json.type === 'number') return `an integer from ${json.minimum} to ${json.maximum}`
  if (typeof json.pattern === 'string') return `a string matching ${json.pattern}`
  return 'a non-empty string'
}

/** Parses the environment; throws ConfigError naming the first bad variable and what is allowed. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {}
  for (const [name, { schema }] of Object.entries(ENV_SPEC) as [string, { schema: z.ZodType }][]) {
    const raw = env[name]
    const value = raw === undefined || raw === '' ? undefined : raw
    const result = schema.safeParse(value)
    if (!result.success) {
      const inner = (schema as z.ZodDefault<z.ZodType>).def.innerType ?? schema
      const custom = result.error.issues.find((i) => i.code === 'custom')
      // A secret is never echoed (the line goes to logs).
      const shown = name.includes('SECRET') ? `(${raw?.length ?? 0} characters)` : JSON.stringify(raw)
      throw new ConfigError(name, custom ? `is ${shown}: ${custom.message}` : `is ${shown}; allowed: ${describeRule(inner)}`)
    }
    out[name] = result.data
  }
  if (out.AUTH_SECRET && out.AUTH_JWKS_URL) throw new ConfigError('AUTH_JWKS_URL', 'is set together with AUTH_SECRET; set one of them')
  if (out.AUTH === 'jwt' && !out.AUTH_SECRET && !out.AUTH_JWKS_URL)
    throw new ConfigError('AUTH', 'is jwt without AUTH_SECRET or AUTH_JWKS_URL to check tokens with')
  return Object.freeze(out) as Config
}

/** The MongoDB connection settings (MONGODB_URL set), as the server and the docs CLI open it. */
export function mongoSettings(config: Config & { MONGODB_URL: string }) {
  return {
    url: config.MONGODB_URL,
    db: config.MONGODB_DB,
    w: /^\d+$/.test(config.MONGODB_WRITE_CONCERN) ? Number(config.MONGODB_WRITE_CONCERN) : ('majority' as const),
    journal: config.MONGODB_JOURNAL,
    timeoutMs: config.MONGODB_TIMEOUT_MS,
  }
}

/** Config for tests and embedding: defaults plus overrides, validated the same way. */
export function configWith(overrides: Partial<Record<keyof Spec, string | number | boolean>>): Config {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(overrides)) env[k] = String(v)
  return parseConfig(env)
}

/** `atrium-load` flags: parsed with node:util, validated with zod, errors people can act on. */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { LoadPlan } from '../core/run.ts'
import type { Slo } from '../core/report.ts'
import { AtriumError } from '../../shared/errors.ts'

export const USAGE = `Usage: atrium-load --url ws://host:port [options]

Simulated editors edit documents with real Yjs updates and measure end-to-end latency.

  --url URL[,URL...]     server WebSocket URL (required), e.g. ws://127.0.0.1:1234; several
                         (cluster nodes) spread each document's editors over them and
                         report cross-node latency separately
  --protocol P           yws (y-websocket, document in the path) | hocuspocus   [yws]
                         (hocuspocus: one socket per editor at the URL itself, as
                         HocuspocusProvider's url; its document opened by an auth message)
  --docs N               documents                                          [1]
  --editors-per-doc N    editors per document                               [10]
  --rate R               updates per second per editor (0 = connect only)   [10]
  --awareness-hz H       XR poses per second per editor, as awareness       [0]
  --payload BYTES        extra bytes per edit                               [0]
  --duration S           seconds of load (per step with --ramp)             [10]
  --ramp                 multiply the rate by --ramp-factor each step until an SLO breaks
  --ramp-factor F        rate multiplier per ramp step                      [1.5]
  --workers N            processes to spread editors over                   [1]
  --replicas N           editors per document that keep a full replica      [3]
  --doc-prefix P         document name prefix                               [load/<random>/]
  --token T              access-control token (or ATRIUM_TOKEN), sent as ?token= (yws)
                         or in each auth message (hocuspocus); npm run token mints one
  --json FILE            write the JSON report to FILE
  --max-p99 MS           exit 1 when p99 latency exceeds MS
  --max-loss PCT         exit 1 when delivery loss exceeds PCT percent
  --help                 this text

Exit codes: 0 ok, 1 an SLO was broken (or replicas diverged), 2 bad flags.`

export class UsageError extends AtriumError {
  override readonly name = 'UsageError'
}

export interface CliOptions {
  readonly plan: LoadPlan
  readonly slo: Slo
  readonly ramp: boolean
  readonly rampFactor: number
  readonly json: string | undefined
  readonly help: boolean
}

const num = (name: string, min: number, max: number, int = true) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .refine((n) => Number.isFinite(n) && (!int || Number.isInteger(n)), `--${name} must be ${int ? 'a whole number' : 'a number'}`)
    .refine((n) => n >= min && n <= max, `--${name} must be from ${min} to ${max}`)

const schema = z.object({
  url: z
    .string({ error: '--url is required' })
    .regex(/^wss?:\/\/[^/\s,]+[^\s,]*(,wss?:\/\/[^/\s,]+[^\s,]*)*$/, '--url must look like ws://host:port (several: comma-separated)'),
  protocol: z.enum(['yws', 'hocuspocus'], { error: '--protocol must be yws or hocuspocus' }).default('yws'),
  docs: num('docs', 1, 100_000).default(1),
  'editors-per-doc': num('editors-per-doc', 1, 100_000).default(10),
  rate: num('rate', 0, 10_000, false).default(10),
  'awareness-hz': num('awareness-hz', 0, 1000, false).default(0),
  payload: num('payload', 0, 4 * 1024 * 1024).default(0),
  duration: num('duration', 1, 86_400, false).default(10),
  'ramp-factor': num('ramp-factor', 1.01, 10, false).default(1.5),
  workers: num('workers', 1, 64).default(1),
  replicas: num('replicas', 0, 100).default(3),
  'doc-prefix': z.string().min(1).optional(),
  token: z.string().min(1).max(16_384).optional(),
  json: z.string().min(1).optional(),
  'max-p99': num('max-p99', 0, 3_600_000, false).optional(),
  'max-loss': num('max-loss', 0, 100, false).optional(),
})

export function parseCli(argv: readonly string[]): CliOptions {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        protocol: { type: 'string' },
        docs: { type: 'string' },
        'editors-per-doc': { type: 'string' },
        rate: { type: 'string' },
        'awareness-hz': { type: 'string' },
        payload: { type: 'string' },
        duration: { type: 'string' },
        ramp: { type: 'boolean' },
        'ramp-factor': { type: 'string' },
        workers: { type: 'string' },
        replicas: { type: 'string' },
        'doc-prefix': { type: 'string' },
        token: { type: 'string' },
        json: { type: 'string' },
        'max-p99': { type: 'string' },
        'max-loss': { type: 'string' },
        help: { type: 'boolean' },
      },
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return { help: true } as CliOptions
  const { ramp, help: _help, ...rest } = values
  const parsed = schema.safeParse(rest)
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]!.message)
  const o = parsed.data
  return {
    help: false,
    ramp: ramp === true,
    rampFactor: o['ramp-factor'],
    json: o.json,
    slo: { maxP99Ms: o['max-p99'], maxLossPct: o['max-loss'] },
    plan: {
      url: o.url
        .split(',')
        .map((u) => u.replace(/\/+$/, ''))
        .join(','),
      protocol: o.protocol,
      docs: o.docs,
      editorsPerDoc: o['editors-per-doc'],
      rate: o.rate,
      awarenessHz: o['awareness-hz'],
      payload: o.payload,
      durationS: o.duration,
      docPrefix: o['doc-prefix'] ?? `load/${Math.random().toString(36).slice(2, 8)}/`,
      workers: o.workers,
      replicasPerDoc: o.replicas,
      token: o.token ?? process.env.ATRIUM_TOKEN,
    },
  }
}

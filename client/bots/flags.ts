/**
 * `atrium-bot` flags: parsed with node:util, validated with zod, errors people can act on
 * (exit 2). Pure (the environment comes in as an argument), so every rule is unit-tested;
 * the flags of all commands live here, in one table, next to the usage text they must match.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { z } from 'zod'
import { AtriumError } from '../../shared/errors.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'

export const USAGE = `Usage: atrium-bot <command> --url ws://host:port --doc site/<id> [options]
       npm run bot -- <command> …

Commands:
  digital-human   drive a digital human: speech typed into its transcript (~150 wpm, in
                  bursts), speaking, expression, gaze (anchors, people, points), animation
      --human ID       the human to drive (created when missing; default: the site's first, or a new one)
      --lines FILE     lines to speak, one a line (default: a built-in list)
      --wpm N          words a minute [150]
  facility        walk the building and update components like a BMS feed (tags, readings)
      --rate R         updates a second [2]
      --reading on|off write sensor readings [on]
  record          record every update and awareness change of --doc
      --out FILE       the recording (JSON Lines; appended to when it exists)
  replay          replay a recording into --doc (updates through the SDK; presence: see --presence)
      --in FILE        the recording
      --speed X        1 = as recorded, 4 = four times faster, … [1]
      --presence first|none  show the first recorded client's presence as the bot's own, or none [first]
  script          run user code: --script FILE.mjs, its default export gets { site, args, signal }
      --script FILE    the module (also accepted without the command); arguments after -- go to args
  xr              XR headsets in this process (client/xr): poses as awareness, anchors;
                  runs for --duration (default 10 s) or until SIGINT
      --headsets N     [10]      --hz H   pose rate [90]      --anchors N   anchors per headset [1]

Every command:
  --url URL        a node's WebSocket URL (repeat, or comma-separate, for cluster nodes)
  --doc NAME       the document, e.g. site/demo
  --token T        access-control token (default: env ATRIUM_TOKEN); npm run token mints one
  --duration S     stop after S seconds (default: until SIGINT; replay and script also stop when done)
  --seed N         the seed of every random choice [1]
  --json           print the report as JSON on stdout (the summary always goes to stderr)
  --help           this text

Exit codes: 0 done (also after SIGINT), 1 failed (refused, unreachable, the script threw), 2 bad flags.`

export class UsageError extends AtriumError {
  override readonly name = 'UsageError'
}

export const COMMANDS = ['digital-human', 'facility', 'record', 'replay', 'script', 'xr'] as const
export type Command = (typeof COMMANDS)[number]

export interface CommonFlags {
  readonly urls: readonly string[]
  readonly doc: string
  readonly token: string | undefined
  /** Seconds; undefined: until SIGINT (or until done). */
  readonly durationS: number | undefined
  readonly seed: number
  readonly json: boolean
}

export interface DigitalHumanFlags extends CommonFlags {
  readonly human: string | undefined
  readonly lines: string | undefined
  readonly wpm: number
}
export interface FacilityFlags extends CommonFlags {
  readonly rate: number
  readonly reading: boolean
}
export interface RecordFlags extends CommonFlags {
  readonly out: string
}
export interface ReplayFlags extends CommonFlags {
  readonly in: string
  readonly speed: number
  readonly presence: 'first' | 'none'
}
export interface ScriptFlags extends CommonFlags {
  readonly script: string
  readonly args: readonly string[]
}
export interface XrFlags extends CommonFlags {
  readonly headsets: number
  readonly hz: number
  readonly anchors: number
}

export type BotArgs =
  | { readonly command: 'help' }
  | { readonly command: 'digital-human'; readonly flags: DigitalHumanFlags }
  | { readonly command: 'facility'; readonly flags: FacilityFlags }
  | { readonly command: 'record'; readonly flags: RecordFlags }
  | { readonly command: 'replay'; readonly flags: ReplayFlags }
  | { readonly command: 'script'; readonly flags: ScriptFlags }
  | { readonly command: 'xr'; readonly flags: XrFlags }

const num = (name: string, min: number, max: number, int = false) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .refine((n) => Number.isFinite(n) && (!int || Number.isInteger(n)), `--${name} must be ${int ? 'a whole number' : 'a number'}`)
    .refine((n) => n >= min && n <= max, `--${name} must be from ${min} to ${max}`)

const URL_RE = /^wss?:\/\/[^/\s,]+[^\s,]*$/
const common = {
  url: z
    .array(z.string(), { error: '--url is required' })
    .transform((list) => list.flatMap((u) => u.split(',')).map((u) => u.trim().replace(/\/+$/, '')))
    .refine((list) => list.length > 0, '--url is required')
    .refine((list) => list.every((u) => URL_RE.test(u)), '--url must look like ws://host:port'),
  doc: z.string({ error: '--doc is required' }).refine((d) => checkDocName(d).ok, '--doc must be a valid document name, e.g. site/demo'),
  token: z.string().min(1).max(16_384).optional(),
  duration: num('duration', 0.001, 31_536_000).optional(),
  seed: num('seed', -(2 ** 31), 2 ** 32 - 1, true).default(1),
}

const id = (name: string) => z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, `--${name} must be an id (1-128 of A-Z a-z 0-9 _ . : -)`)
const file = (name: string) => z.string({ error: `--${name} is required` }).min(1, `--${name} is required`)

const SPECS = {
  'digital-human': {
    options: { human: { type: 'string' }, lines: { type: 'string' }, wpm: { type: 'string' } },
    schema: z.object({ human: id('human').optional(), lines: z.string().min(1).optional(), wpm: num('wpm', 10, 1000).default(150) }),
  },
  facility: {
    options: { rate: { type: 'string' }, reading: { type: 'string' } },
    schema: z.object({
      rate: num('rate', 0.01, 10_000).default(2),
      reading: z
        .enum(['on', 'off'], { error: '--reading must be on or off' })
        .default('on')
        .transform((v) => v === 'on'),
    }),
  },
  record: { options: { out: { type: 'string' } }, schema: z.object({ out: file('out') }) },
  replay: {
    options: { in: { type: 'string' }, speed: { type: 'string' }, presence: { type: 'string' } },
    schema: z.object({
      in: file('in'),
      speed: num('speed', 0.01, 10_000).default(1),
      presence: z.enum(['first', 'none'], { error: '--presence must be first or none' }).default('first'),
    }),
  },
  script: { options: { script: { type: 'string' } }, schema: z.object({ script: file('script') }) },
  xr: {
    options: { headsets: { type: 'string' }, hz: { type: 'string' }, anchors: { type: 'string' } },
    schema: z.object({
      headsets: num('headsets', 1, 10_000, true).default(10),
      hz: num('hz', 1, 240).default(90),
      anchors: num('anchors', 0, 1000, true).default(1),
    }),
  },
} as const satisfies Record<Command, { options: ParseArgsConfig['options']; schema: z.ZodType }>

const COMMON_OPTIONS = {
  url: { type: 'string', multiple: true },
  doc: { type: 'string' },
  token: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options']

/** `argv` without node and the script; `env` for ATRIUM_TOKEN. Throws UsageError. */
export function parseBotArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): BotArgs {
  // `atrium-bot --script x.mjs …` is `atrium-bot script --script x.mjs …`.
  const [first, ...rest] = argv
  const command =
    first !== undefined && !first.startsWith('-') ? first : argv.includes('--script') || argv.some((a) => a.startsWith('--script=')) ? 'script' : undefined
  const args = first !== undefined && !first.startsWith('-') ? rest : argv
  if (command === undefined) {
    if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) return { command: 'help' }
    throw new UsageError('give a command: digital-human, facility, record, replay, script or xr')
  }
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)} (digital-human, facility, record, replay, script or xr)`)
  const spec = SPECS[command as Command]
  let values: Record<string, string | boolean | string[] | undefined>
  let positionals: string[]
  try {
    const parsed = parseArgs({ args: [...args], strict: true, allowPositionals: command === 'script', options: { ...COMMON_OPTIONS, ...spec.options } })
    values = parsed.values as typeof values
    positionals = parsed.positionals
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return { command: 'help' }
  const { url, doc, token, duration, seed, json, help: _help, ...own } = values
  const c = z.object(common).safeParse({ url, doc, token: token ?? env.ATRIUM_TOKEN, duration, seed })
  if (!c.success) throw new UsageError(c.error.issues[0]!.message)
  const o = spec.schema.safeParse(own)
  if (!o.success) throw new UsageError(o.error.issues[0]!.message)
  const flags: CommonFlags = { urls: c.data.url, doc: c.data.doc, token: c.data.token, durationS: c.data.duration, seed: c.data.seed, json: json === true }
  // Each schema's output is its command's own flags; `script` adds what follows `--`.
  const extra = command === 'script' ? { ...o.data, args: positionals } : o.data
  return { command, flags: { ...flags, ...extra } } as BotArgs
}

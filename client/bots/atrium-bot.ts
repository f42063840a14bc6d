/**
 * atrium-bot: headless clients of a site, built only on the SDK (client/sdk). This file is
 * the process side: flags (flags.ts), SIGINT and SIGTERM turned into the bots' stop signal
 * (a second SIGINT exits at once, 130), the report (summary on stderr, `--json` on stdout)
 * and the exit code: 0 done or stopped, 1 failed, 2 bad flags. The bots themselves are run
 * functions, one file each, that tests call in-process.
 */
import { fileURLToPath } from 'node:url'
import { type BotContext, type BotReport, formatReport } from './bot.ts'
import { runDigitalHuman } from './digital-human.ts'
import { runFacility } from './facility.ts'
import { type BotArgs, parseBotArgs, USAGE, UsageError } from './flags.ts'
import { runRecord } from './record.ts'
import { runReplay } from './replay.ts'
import { runScript } from './script.ts'
import { runXr } from './xr.ts'

export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

const processIo: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }

type Run = Exclude<BotArgs, { command: 'help' }>
const RUNNERS: { [A in Run as A['command']]: (flags: A['flags'], ctx: BotContext) => Promise<BotReport> } = {
  'digital-human': runDigitalHuman,
  facility: runFacility,
  record: runRecord,
  replay: runReplay,
  script: runScript,
  xr: runXr,
}

function run(args: Run, ctx: BotContext): Promise<BotReport> {
  // The table pairs each command with its flags; TypeScript cannot follow the pairing through the index.
  return (RUNNERS[args.command] as (flags: Run['flags'], ctx: BotContext) => Promise<BotReport>)(args.flags, ctx)
}

/** Runs one command to its end; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let args: BotArgs
  try {
    args = parseBotArgs(argv, process.env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`atrium-bot: ${err.message}\n\n${USAGE}\n`)
    return 2
  }
  if (args.command === 'help') {
    io.stdout(`${USAGE}\n`)
    return 0
  }
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (signal === 'SIGINT') process.exit(130) // a second Ctrl-C: the user wants out now
      return
    }
    io.stderr(`atrium-bot: ${signal}: stopping (closing the site, flushing; ^C again to quit at once)\n`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const report = await run(args, { signal: controller.signal, log: (line) => io.stderr(`${line}\n`) })
    io.stderr(`${formatReport(report)}\n`)
    if (args.flags.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`)
    return 0
  } catch (err) {
    io.stderr(`atrium-bot ${args.command} failed: ${(err as Error).message}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Exit when done: a script or a library may leave timers or sockets behind.
  main(process.argv.slice(2)).then((code) => process.exit(code))
}

/**
 * `atrium-bot script --script FILE.mjs` (or `atrium-bot --script FILE.mjs`): user code with a
 * connected, synced Site. The module's default export is called with `{ site, args, signal }`
 * (`args`: what follows `--`; `signal`: fires on SIGINT or at `--duration`, and the script
 * should return soon after). When it returns, the bot waits until the server holds the
 * script's writes, closes the site and exits; what it returned (if it is JSON) goes into
 * the report. The module is loaded before connecting, so a typo fails fast.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Site } from '../sdk/index.ts'
import { type BotContext, type BotReport, withSite } from './bot.ts'
import type { ScriptFlags } from './flags.ts'

export interface ScriptContext {
  readonly site: Site
  readonly args: readonly string[]
  readonly signal: AbortSignal
}
export type BotScript = (context: ScriptContext) => unknown

export async function loadScript(file: string): Promise<BotScript> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown }
  if (typeof mod.default !== 'function') throw new Error(`${file}: its default export must be a function ({ site, args, signal }) => …`)
  return mod.default as BotScript
}

/** A value the JSON report can hold, or a description of it. */
function reportable(value: unknown): unknown {
  if (value === undefined) return null
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch {
    return String(value)
  }
}

export async function runScript(flags: ScriptFlags, ctx: BotContext): Promise<BotReport> {
  const script = await loadScript(flags.script)
  return withSite('script', flags, ctx, async (site, signal) => {
    const result = reportable(await script({ site, args: flags.args, signal }))
    return {
      stats: { script: flags.script, result },
      summary: `ran ${flags.script}${result === null ? '' : ` → ${JSON.stringify(result)}`}`,
    }
  })
}

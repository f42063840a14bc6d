/**
 * What every atrium-bot command shares, so each bot file holds only its behaviour: connect
 * through the SDK (never our own socket code), stop on a signal or after `--duration`, make
 * sure the server holds the bot's writes before closing, and one report shape for people
 * (stderr) and machines (`--json`). Bots run in-process too (tests call their run
 * functions with an AbortController instead of SIGINT).
 */
import WebSocket from 'ws'
import { connectSite, type Site, SiteTimeout } from '../sdk/index.ts'
import type { Command, CommonFlags } from './flags.ts'

export interface BotContext {
  /** Stop: SIGINT in the CLI, a test's AbortController in-process. The bot closes its site, flushes and reports. */
  readonly signal: AbortSignal
  /** Progress lines for people (stderr in the CLI). */
  readonly log: (line: string) => void
  /** Called with the site once it is synced, before the bot starts (tests watch the bot's own view). */
  readonly onSite?: (site: Site) => void
}

/** What the bot did, as JSON-able values (the `--json` report carries them as they are). */
export type Stats = Readonly<Record<string, unknown>>

export interface BotReport {
  readonly bot: Command
  readonly doc: string
  /** The node the bot was connected to at the end. */
  readonly node: string
  readonly seconds: number
  readonly stoppedBy: 'signal' | 'duration' | 'done'
  /** Local changes the server had not confirmed when the bot closed (0 unless it was offline). */
  readonly unconfirmed: number
  readonly stats: Stats
  readonly summary: string
}

export interface BotOutcome {
  readonly stats: Stats
  readonly summary: string
}

export interface SiteHooks {
  /** Runs right after connectSite, before the first sync (a recorder must see the first update). */
  readonly beforeSync?: (site: Site) => void
  readonly awarenessHz?: number
}

const CONFIRM_TIMEOUT_MS = 10_000

/** `signal`, or `signal` and the duration (whichever fires first). */
export function stopSignal(signal: AbortSignal, durationS: number | undefined): AbortSignal {
  return durationS === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(durationS * 1000)])
}

/** Waits `ms`; false when `signal` fired first (never rejects: stopping is not an error). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', stop)
      resolve(ok)
    }
    const stop = () => done(false)
    const timer = setTimeout(() => done(true), ms)
    signal.addEventListener('abort', stop, { once: true })
  })
}

/** Resolves when `signal` fires. */
export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/**
 * Connects, waits for the first sync (a refusal rejects with the SDK's SiteRefused), runs
 * `body` until it returns (it should return soon after `stop` fires), then waits until the
 * server confirmed the bot's writes and closes. The site is closed on every path.
 */
export async function withSite(
  bot: Command,
  flags: CommonFlags,
  ctx: BotContext,
  body: (site: Site, stop: AbortSignal) => Promise<BotOutcome>,
  hooks: SiteHooks = {},
): Promise<BotReport> {
  const stop = stopSignal(ctx.signal, flags.durationS)
  const started = performance.now()
  const site = connectSite({
    urls: flags.urls,
    doc: flags.doc,
    WebSocket,
    ...(flags.token !== undefined ? { token: flags.token } : {}),
    ...(hooks.awarenessHz !== undefined ? { awarenessHz: hooks.awarenessHz } : {}),
  })
  try {
    hooks.beforeSync?.(site)
    const synced = await syncedOrStopped(site, stop)
    let outcome: BotOutcome = { stats: {}, summary: 'stopped before the first sync' }
    if (synced) {
      ctx.log(`${bot}: synced with ${site.status.url} (${flags.doc})`)
      ctx.onSite?.(site)
      outcome = await body(site, stop)
    }
    const unconfirmed = await confirm(site, ctx)
    return {
      bot,
      doc: flags.doc,
      node: site.status.url,
      seconds: Math.round(performance.now() - started) / 1000,
      stoppedBy: ctx.signal.aborted ? 'signal' : stop.aborted ? 'duration' : 'done',
      unconfirmed,
      ...outcome,
    }
  } finally {
    site.close()
  }
}

/**
 * True once synced; false when stopped first (not a failure: nothing was done, and the report
 * says so). Rejects with the SDK's error (SiteRefused, SiteTimeout) when the sync fails first.
 */
function syncedOrStopped(site: Site, stop: AbortSignal): Promise<boolean> {
  if (stop.aborted) return Promise.resolve(false)
  return new Promise((resolve, reject) => {
    const onStop = () => resolve(false)
    stop.addEventListener('abort', onStop, { once: true })
    site
      .whenSynced()
      .then(
        () => resolve(true),
        // After a stop the site is closed under the wait, which then rejects: that is the stop, not an error.
        (err: unknown) => (stop.aborted ? resolve(false) : reject(err)),
      )
      .finally(() => stop.removeEventListener('abort', onStop))
  })
}

/** Waits (bounded) until the server holds every write of the bot; returns how many it does not. */
async function confirm(site: Site, ctx: BotContext): Promise<number> {
  if (site.pendingChanges === 0) return 0
  try {
    await site.whenConfirmed({ timeoutMs: CONFIRM_TIMEOUT_MS })
    return 0
  } catch (err) {
    if (!(err instanceof SiteTimeout)) throw err
    ctx.log(`${site.pendingChanges} local changes not confirmed by the server within ${CONFIRM_TIMEOUT_MS / 1000} s; they are lost when the bot exits`)
    return site.pendingChanges
  }
}

/** The one-line summary people read on stderr. */
export function formatReport(r: BotReport): string {
  const why = r.stoppedBy === 'done' ? 'done' : r.stoppedBy === 'signal' ? 'stopped (signal)' : 'stopped (--duration)'
  const lost = r.unconfirmed > 0 ? `; ${r.unconfirmed} changes NOT confirmed by the server` : ''
  return `${r.bot} on ${r.doc} via ${r.node}: ${r.summary}; ${why} after ${r.seconds.toFixed(1)} s${lost}`
}

/**
 * Hostile input (issue 12): each case of the issue, and scaled-up versions, replayed against a
 * server process of the code before admission existed (`--before`, a git ref, checked out into
 * a temporary worktree) and of this checkout, one after the other in one run, each case on a
 * fresh process. Recorded per case:
 * - the worst event-loop delay: a probe asks /healthz every 10 ms; its slowest answer;
 * - the server's peak RSS (VmHWM) above its RSS before the case;
 * - what became of the attack (refused with a code, applied, quarantined, still stalling at
 *   the cap).
 * Honest reference rows (an upload of a large site in one message) show what admission and
 * slicing cost the good case.
 *
 *   npm run bench:hostile [-- --before 3de49c9 --cap 60 --only bomb]
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import * as Y from 'yjs'
import { encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from '../../shared/protocol/messages.ts'
import { createObject, objectsOf } from '../../shared/schema/document.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { provider, rawClient, synced, type RawClient } from '../harness/clients.ts'
import { killAllServers, startServerProcess, tempDir, type ServerProcess } from '../harness/server-process.ts'
import { checkoutBefore } from './before.ts'
import { chainBomb, clientFlood, conflictBomb, deleteFlood } from '../harness/craft.ts'

const { values } = parseArgs({ options: { before: { type: 'string', default: '3de49c9' }, cap: { type: 'string', default: '60' }, only: { type: 'string' } } })
const CAP_MS = Number(values.cap) * 1000
const ROOT = resolve(import.meta.dirname, '../..')
const before = checkoutBefore(values.before)

interface Variant {
  readonly name: string
  readonly entry: string
  /** Runs the docs CLI of this variant (to put poisoned documents in a store). */
  readonly cli: string
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const kib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${Math.round(n / 1024)} KB`)
const status = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

/**
 * Asks /healthz every 10 ms; the slowest answer is the worst event-loop delay a client saw. In
 * a worker thread of its own, so this process's work (generating a site, applying what a watcher
 * receives) never counts as the server's delay.
 */
function probe(httpUrl: string): { stop(): Promise<number> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     let worst = 0, running = true
     parentPort.on('message', () => { running = false })
     ;(async () => {
       while (running) {
         const t = performance.now()
         try { await fetch(workerData.url + '/healthz', { signal: AbortSignal.timeout(workerData.capMs) }) } catch {}
         worst = Math.max(worst, performance.now() - t)
         await new Promise((r) => setTimeout(r, 10))
       }
       parentPort.postMessage(worst)
     })()`,
    { eval: true, workerData: { url: httpUrl, capMs: CAP_MS + 5000 } },
  )
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        worker.once('message', (worst: number) => {
          void worker.terminate()
          resolve(worst)
        })
        worker.postMessage('stop')
      }),
  }
}

const closedOr = (c: RawClient, ms: number) => Promise.race([c.closed.then((x) => x.code), new Promise<number>((r) => setTimeout(() => r(0), ms))])

/** Waits until the document is in the store (the list of documents; nothing computed for it). */
const stored = (s: ServerProcess, name: string) =>
  within(async () => ((await (await fetch(`${s.httpUrl}/api/documents?limit=1000`)).json()) as { documents: string[] }).documents.includes(name), CAP_MS)

/** Waits until `check` holds, polling; false at the cap. */
async function within(check: () => boolean | Promise<boolean>, ms = CAP_MS): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}

interface Case {
  readonly name: string
  readonly size: string
  readonly env?: Record<string, string | number>
  /** Puts documents in the data directory before the server starts. */
  readonly prepare?: (dataDir: string, v: Variant) => Promise<void>
  /** Runs the attack; returns what became of it. */
  readonly run: (s: ServerProcess) => Promise<string>
}

function importDoc(v: Variant, dataDir: string, name: string, update: Uint8Array, force = false): void {
  const file = join(dataDir, `${name.replace(/\//g, '_')}-${Math.random()}.yjs`)
  writeFileSync(file, update)
  const args = ['--import', 'tsx', v.cli, 'import', name, file, ...(force ? ['--force'] : [])]
  try {
    execFileSync(process.execPath, args, { env: { PATH: process.env.PATH, DATA_DIR: dataDir }, stdio: 'ignore' })
  } catch {
    execFileSync(
      process.execPath,
      args.filter((a) => a !== '--force'),
      { env: { PATH: process.env.PATH, DATA_DIR: dataDir }, stdio: 'ignore' },
    )
  }
}

/** Conflict bomb as two updates from one connection; done when refused, or when the text holds both. */
function bombCase(n1: number, n2: number): Case {
  const first = conflictBomb(n1, 1000)
  const second = conflictBomb(n2, 1_000_000)
  return {
    name: `conflicting inserts ${n1} + ${n2}`,
    size: `${kib(first.length)} + ${kib(second.length)}`,
    run: async (s) => {
      const watcher = provider(s.wsUrl, 'doc/bomb')
      await synced(watcher)
      const a = await rawClient(`${s.wsUrl}/doc/bomb`)
      a.send(encodeUpdate(first))
      a.send(encodeUpdate(second))
      const code = closedOr(a, CAP_MS)
      const applied = within(() => watcher.doc.getText('t').length === n1 + n2)
      const outcome = await Promise.race([code.then((c) => (c ? `refused ${c}` : null)), applied.then((ok) => (ok ? 'applied' : null))])
      watcher.destroy()
      return outcome ?? `still integrating after ${CAP_MS / 1000} s`
    },
  }
}

const CASES: Case[] = [
  bombCase(4000, 4000),
  bombCase(8000, 8000),
  bombCase(20_000, 160_000),
  {
    name: 'chain bomb in one update (merging does not help)',
    size: kib(chainBomb(4000, 4000).length),
    run: async (s) => {
      const watcher = provider(s.wsUrl, 'doc/chain')
      await synced(watcher)
      const a = await rawClient(`${s.wsUrl}/doc/chain`)
      a.send(encodeUpdate(chainBomb(4000, 4000)))
      const code = await closedOr(a, CAP_MS)
      watcher.destroy()
      return code ? `refused ${code}` : 'applied (or still integrating)'
    },
  },
  {
    name: 'poisoned document loaded (4,000 + 4,000 stored in that order)',
    size: `${kib(conflictBomb(4000, 1000).length)} + ${kib(conflictBomb(4000, 1_000_000).length)}`,
    prepare: async (dataDir, v) => {
      importDoc(v, dataDir, 'doc/stored', conflictBomb(4000, 1000))
      importDoc(v, dataDir, 'doc/stored', conflictBomb(4000, 1_000_000))
    },
    run: async (s) => {
      const res = await fetch(`${s.httpUrl}/api/documents/${encodeURIComponent('doc/stored')}`, { signal: AbortSignal.timeout(CAP_MS) }).catch(() => null)
      return res ? `GET ${res.status}${res.status === 200 ? ' (loaded merged)' : ''}` : `no answer within ${CAP_MS / 1000} s`
    },
  },
  {
    name: 'poisoned document loaded (chain bomb, stalls in any order)',
    size: kib(chainBomb(4000, 4000).length),
    prepare: async (dataDir, v) => importDoc(v, dataDir, 'doc/chain-stored', chainBomb(4000, 4000), true),
    run: async (s) => {
      const res = await fetch(`${s.httpUrl}/api/documents/${encodeURIComponent('doc/chain-stored')}`, { signal: AbortSignal.timeout(CAP_MS) }).catch(() => null)
      if (!res) return `no answer within ${CAP_MS / 1000} s`
      const body = res.status === 503 ? ((await res.json()) as { error: string }).error : ''
      return `GET ${res.status}${body ? ` (${body})` : ''}`
    },
  },
  ...[40_000, 80_000].map(
    (copies): Case => ({
      name: `duplicate delete ranges on a site document (${copies / 1000}k)`,
      size: kib(deleteFlood(1, 0, 1, copies).length),
      run: async (s) => {
        // The review's case: an optional field of an object (a zone's box), its one range repeated.
        const owner = provider(s.wsUrl, 'site/target')
        await synced(owner)
        createObject(owner.doc, 'b', { type: 'building', parentId: null, name: 'B' })
        createObject(owner.doc, 'f', { type: 'floor', parentId: 'b', name: 'F', level: 0, elevation: 0 })
        for (let k = 0; k < 200; k++) createObject(owner.doc, `z${k}`, { type: 'zone', parentId: 'f', name: `Z${k}`, bbox: [k, 0, 0, k + 1, 1, 3] })
        await stored(s, 'site/target')
        const id = objectsOf(owner.doc).get('z7')!._map.get('bbox')!.id
        const a = await rawClient(`${s.wsUrl}/site/target`)
        a.send(encodeUpdate(deleteFlood(id.client, id.clock, 1, copies)))
        const deleted = await within(() => !objectsOf(owner.doc).get('z7')!.has('bbox'))
        const code = await closedOr(a, 100)
        owner.destroy()
        return code ? `refused ${code}` : deleted ? 'applied (one field deleted)' : 'still working'
      },
    }),
  ),
  {
    name: 'client-id flood (150,000 ids)',
    size: kib(clientFlood(150_000, 5000).length),
    run: async (s) => {
      const a = await rawClient(`${s.wsUrl}/doc/flood`)
      a.send(encodeUpdate(clientFlood(150_000, 5000)))
      const code = await closedOr(a, 5000)
      if (code) return `refused ${code}`
      const joiner = await rawClient(`${s.wsUrl}/doc/flood`)
      joiner.send(encodeSyncStep1(Uint8Array.of(0)))
      await within(() => joiner.received.length >= 2, 10_000)
      return `applied; a joiner's state vector: ${kib(joiner.received[0]?.length ?? 0)}`
    },
  },
  {
    name: 'awareness: 100,000 ids from one socket, then a joiner',
    size: kib(encodeAwarenessUpdate(Array.from({ length: 100_000 }, (_, k) => ({ clientId: 1 + k, clock: 1, state: json({ k }) }))).length),
    run: async (s) => {
      const a = await rawClient(`${s.wsUrl}/doc/ids`)
      a.send(encodeAwareness(encodeAwarenessUpdate(Array.from({ length: 100_000 }, (_, k) => ({ clientId: 1 + k, clock: 1, state: json({ k }) })))))
      await new Promise((r) => setTimeout(r, 500))
      const joiner = await rawClient(`${s.wsUrl}/doc/ids`)
      await within(() => joiner.received.length >= 2, 10_000)
      const greeting = joiner.received.slice(1).reduce((n, f) => n + f.length, 0)
      return `greeting of a joiner: ${kib(greeting)}`
    },
  },
  {
    name: 'awareness: 450,000 ids claimed and removed',
    size: '450 × 1,000 ids',
    env: { MAX_AWARENESS_IDS: 1000 },
    run: async (s) => {
      const a = await rawClient(`${s.wsUrl}/doc/removed`)
      for (let b = 0; b < 450; b++) {
        const ids = Array.from({ length: 1000 }, (_, k) => 1 + b * 1000 + k)
        a.send(encodeAwareness(encodeAwarenessUpdate(ids.map((clientId) => ({ clientId, clock: 1, state: json({ b }) })))))
        a.send(encodeAwareness(encodeAwarenessUpdate(ids.map((clientId) => ({ clientId, clock: 2, state: null })))))
      }
      const code = await closedOr(a, 3000)
      return code ? `closed ${code}` : 'open'
    },
  },
  {
    name: 'awareness that is not JSON, then an unchanged y-websocket joiner',
    size: '9 B',
    run: async (s) => {
      // An unchanged y-websocket client in this process throws on a state that is not JSON: caught here, reported.
      let crashed = ''
      const onError = (err: Error) => (crashed = err.message)
      process.on('uncaughtException', onError)
      const honest = provider(s.wsUrl, 'doc/json')
      await synced(honest)
      honest.awareness.setLocalStateField('user', { name: 'Ada' })
      const a = await rawClient(`${s.wsUrl}/doc/json`)
      a.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 4242, clock: 1, state: new TextEncoder().encode('{not json') }])))
      const code = await closedOr(a, 2000)
      const joiner = provider(s.wsUrl, 'doc/json')
      await synced(joiner).catch(() => {})
      await new Promise((r) => setTimeout(r, 500))
      process.off('uncaughtException', onError)
      const seen = joiner.awareness.getStates().size
      honest.destroy()
      joiner.destroy()
      return `${code ? `refused ${code}; ` : 'relayed; '}clients ${crashed ? `crashed (${crashed.slice(0, 30)}…)` : `run, the joiner sees ${seen} states`}`
    },
  },
  {
    name: '60 sockets that never read, 8 MB of awareness from one writer',
    size: '8 MB',
    run: async (s) => {
      const stalled = await Promise.all(Array.from({ length: 60 }, () => rawClient(`${s.wsUrl}/doc/slow`)))
      for (const c of stalled) (c.ws as unknown as { _socket: Socket })._socket.pause()
      const writer = await rawClient(`${s.wsUrl}/doc/slow`)
      const state = json({ pose: 'x'.repeat(30_000) })
      for (let clock = 1; clock <= 270; clock++) writer.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 99, clock, state }])))
      await new Promise((r) => setTimeout(r, 3000))
      return 'sent'
    },
  },
  {
    name: 'sync step 1 flood: 200 bogus state vectors for a 100,000-object site',
    size: '200 × 9 B',
    prepare: async (dataDir, v) => {
      const src = new Y.Doc()
      generateSite(src, { objects: 100_000, batch: 100_000 })
      importDoc(v, dataDir, 'site/step1', Y.encodeStateAsUpdate(src))
    },
    run: async (s) => {
      const a = await rawClient(`${s.wsUrl}/site/step1`)
      // One unknown client in the vector: the answer is the whole document, encoded anew unless the server knows better.
      const bogus = encodeSyncStep1(Y.encodeStateVector(new Map([[424242, 1]])))
      for (let i = 0; i < 200; i++) a.send(bogus)
      const answers = () => a.received.filter((f) => f[0] === 0 && f[1] === 1).length
      await within(() => answers() >= 200, 30_000).catch(() => {})
      return `${answers()} answers in 30 s`
    },
  },
  {
    name: 'a burst of 100,000 empty updates from one socket',
    size: '100,000 × 4 B',
    run: async (s) => {
      const a = await rawClient(`${s.wsUrl}/doc/burst`)
      const frame = encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc()))
      for (let i = 0; i < 100_000; i++) a.send(frame)
      const code = await closedOr(a, 5000)
      return code ? `closed ${code}` : 'open'
    },
  },
  {
    name: '10 concurrent GETs of a 20,000-object site as JSON',
    size: '',
    run: async (s) => {
      const src = new Y.Doc()
      generateSite(src, { objects: 20_000, batch: 20_000 })
      const up = provider(s.wsUrl, 'site/json', src)
      await synced(up)
      // Until the whole site is in (a large upload is applied in slices over several turns).
      const watcher = provider(s.wsUrl, 'site/json')
      await synced(watcher)
      await within(() => objectsOf(watcher.doc).size === 20_000)
      watcher.destroy()
      const t = performance.now()
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${s.httpUrl}/api/documents/${encodeURIComponent('site/json')}`).then(async (r) => ({
            status: r.status,
            bytes: (await r.arrayBuffer()).byteLength,
          })),
        ),
      )
      up.destroy()
      return `${answers
        .map((a) => a.status)
        .join(',')
        .replace(/(200,)+200/, '10 × 200')} in ${Math.round(performance.now() - t)} ms, ${kib(answers[0]!.bytes)} each`
    },
  },
  {
    name: 'honest: a 30,000-object site uploaded in one message',
    size: '',
    run: async (s) => {
      const src = new Y.Doc()
      generateSite(src, { objects: 30_000, batch: 30_000 })
      const bytes = Y.encodeStateAsUpdate(src)
      const watcher = provider(s.wsUrl, 'site/upload')
      await synced(watcher)
      const t = performance.now()
      const a = await rawClient(`${s.wsUrl}/site/upload`)
      a.send(encodeUpdate(bytes))
      const ok = await within(() => objectsOf(watcher.doc).size === 30_000)
      watcher.destroy()
      return ok ? `applied (${kib(bytes.length)}) in ${Math.round(performance.now() - t)} ms` : 'not applied'
    },
  },
]

interface Row {
  readonly variant: string
  readonly name: string
  readonly size: string
  readonly worstMs: number
  readonly peakMiB: number
  readonly outcome: string
}

async function runCase(v: Variant, c: Case): Promise<Row> {
  const dataDir = await tempDir('atrium-hostile-')
  await c.prepare?.(dataDir, v)
  const s = await startServerProcess({ LOG_LEVEL: 'info', ...c.env }, dataDir, { entry: v.entry })
  await new Promise((r) => setTimeout(r, 300))
  const rssBefore = status(s.proc.pid!, 'VmRSS')
  const p = probe(s.httpUrl)
  let outcome: string
  try {
    outcome = await Promise.race([c.run(s), new Promise<string>((r) => setTimeout(() => r(`still stalled at ${CAP_MS / 1000} s`), CAP_MS + 10_000))])
  } catch (err) {
    outcome = `error: ${(err as Error).message.slice(0, 60)}`
  }
  // The case is over when the server answers again (or at the cap).
  await within(async () => {
    const t = performance.now()
    await fetch(`${s.httpUrl}/healthz`, { signal: AbortSignal.timeout(CAP_MS) }).catch(() => null)
    return performance.now() - t < 50
  }, CAP_MS)
  const worstMs = await p.stop()
  const peak = s.proc.exitCode === null ? status(s.proc.pid!, 'VmHWM') - rssBefore : Number.NaN
  s.proc.kill('SIGKILL')
  killAllServers()
  return { variant: v.name, name: c.name, size: c.size, worstMs, peakMiB: peak / 1024 / 1024, outcome }
}

const variants: Variant[] = [
  { name: `before (${values.before})`, entry: before.main, cli: before.cli },
  { name: 'after', entry: join(ROOT, 'server/main.ts'), cli: join(ROOT, 'server/cli/docs.ts') },
]

const rows: Row[] = []
for (const c of CASES) {
  if (values.only && !c.name.includes(values.only)) continue
  for (const v of variants) {
    const row = await runCase(v, c)
    rows.push(row)
    console.error(`${row.variant.padEnd(18)} ${row.name.padEnd(64)} worst ${Math.round(row.worstMs)} ms  peak +${row.peakMiB.toFixed(0)} MiB  ${row.outcome}`)
  }
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)
console.log('| Case | Size | Worst event-loop delay, before → after | Peak RSS above idle, before → after | Outcome before | Outcome after |')
console.log('|---|---|---|---|---|---|')
for (const c of CASES) {
  const [b, a] = [rows.find((r) => r.name === c.name && r.variant.startsWith('before')), rows.find((r) => r.name === c.name && r.variant === 'after')]
  if (!b || !a) continue
  console.log(
    `| ${c.name} | ${c.size} | ${fmt(b.worstMs)} → ${fmt(a.worstMs)} | ${b.peakMiB.toFixed(0)} → ${a.peakMiB.toFixed(0)} MiB | ${b.outcome} | ${a.outcome} |`,
  )
}
process.exit(0)

/**
 * The bots against a real server process (loopback, no auth), run in-process through their
 * run functions, watched by a second client that is a plain y-websocket provider; and once
 * through the real bin, to prove the bin, SIGINT and the JSON report. No timing is asserted
 * (the machine is shared): every wait is on an event, with a timeout.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { on, provider, serverHas, synced, until, untilDoc } from '../../load-tests/harness/clients.ts'
import { killAllServers, type ServerProcess, startServerProcess, tempDir } from '../../load-tests/harness/server-process.ts'
import { canonicalJson } from '../../load-tests/core/report.ts'
import { anchorsOf, appendTranscript, deleteObject, humansOf, moveObject, readObjects, updateHuman } from '../../shared/schema/document.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import type { Site } from '../sdk/index.ts'
import type { BotContext } from './bot.ts'
import { BUILT_IN_LINES, runDigitalHuman } from './digital-human.ts'
import { runFacility } from './facility.ts'
import type { CommonFlags } from './flags.ts'
import { runRecord } from './record.ts'
import { runReplay } from './replay.ts'
import { runScript } from './script.ts'
import { runXr } from './xr.ts'

const BIN = fileURLToPath(new URL('./bin/atrium-bot.mjs', import.meta.url))
let server: ServerProcess

beforeAll(async () => {
  server = await startServerProcess()
})
afterAll(() => killAllServers())

const common = (doc: string): CommonFlags => ({ urls: [server.wsUrl], doc, token: undefined, durationS: undefined, seed: 1, json: false })

/** A context a test stops by hand; `site` resolves with the bot's own site once it is synced. */
function context() {
  const controller = new AbortController()
  let gotSite!: (site: Site) => void
  const site = new Promise<Site>((resolve) => (gotSite = resolve))
  const lines: string[] = []
  const ctx: BotContext = { signal: controller.signal, log: (line) => lines.push(line), onSite: gotSite }
  return { ctx, site, lines, stop: () => controller.abort() }
}

/** A document's content, independent of how it was built (client ids, update order): what record → replay must keep. */
function content(doc: Y.Doc): string {
  return canonicalJson({ objects: Object.fromEntries(readObjects(doc)), anchors: anchorsOf(doc).toJSON(), humans: humansOf(doc).toJSON() })
}

const humanOf = (doc: Y.Doc, id: string) => humansOf(doc).get(id)?.toJSON() as Record<string, unknown> | undefined
const VIEWER_HEAD = [3, 4, 1.7]
const viewerPresence = () => ({
  user: { name: 'Viewer', color: '#336699' },
  selection: [],
  cursor: null,
  xr: { head: { p: VIEWER_HEAD, q: [0, 0, 0, 1] }, left: null, right: null, t: Date.now(), space: 'local-floor' },
})

describe('atrium-bot against a real server', () => {
  it('digital-human: a second client sees the transcript typed, speaking, a new expression, gaze at its head and the animation', async () => {
    const doc = 'site/bots-dh'
    const viewer = provider(server.wsUrl, doc)
    try {
      await synced(viewer)
      viewer.awareness.setLocalState(viewerPresence())
      const { ctx, stop } = context()
      const running = runDigitalHuman({ ...common(doc), human: 'guide', lines: undefined, wpm: 600 }, ctx)
      const seen = { speaking: false, expressionChanged: false, talking: false }
      const watch = () => {
        const h = humanOf(viewer.doc, 'guide')
        if (!h) return
        seen.speaking ||= h.speaking === true
        seen.expressionChanged ||= canonicalJson(h.expression) !== canonicalJson({ preset: 'neutral', intensity: 0.5 })
        const animation = h.animation as { clip: string; time: number } | null
        seen.talking ||= animation?.clip === 'talk' && animation.time > 0
      }
      viewer.doc.on('update', watch)
      const firstWords = BUILT_IN_LINES[0]!.split(' ').slice(0, 4).join(' ')
      await untilDoc(viewer.doc, 'the transcript', (d) => String(humanOf(d, 'guide')?.transcript ?? '').startsWith(firstWords), 20_000)
      await untilDoc(viewer.doc, 'gaze at the viewer', (d) => canonicalJson(humanOf(d, 'guide')?.gaze) === canonicalJson({ target: VIEWER_HEAD }), 20_000)
      await untilDoc(viewer.doc, 'speaking, a new expression and the talk animation', () => seen.speaking && seen.expressionChanged && seen.talking, 20_000)
      viewer.doc.off('update', watch)
      stop()
      const report = await running
      expect(report).toMatchObject({ bot: 'digital-human', stoppedBy: 'signal', unconfirmed: 0, stats: { human: 'guide', created: true } })
      expect(report.stats.lines).toBeGreaterThanOrEqual(1)
      expect(report.stats.gazePerson).toBeGreaterThanOrEqual(1)
      // Stopped mid-sentence or not, it is left at rest.
      await untilDoc(viewer.doc, 'the human at rest', (d) => humanOf(d, 'guide')?.speaking === false)
    } finally {
      viewer.destroy()
    }
  }, 60_000)

  it('record → replay into another document gives the same document', async () => {
    const [from, to] = ['site/bots-rec-a', 'site/bots-rec-b']
    const out = join(await tempDir('atrium-rec-'), 'session.jsonl')
    const writer = provider(server.wsUrl, from)
    try {
      await synced(writer)
      generateSite(writer.doc, { objects: 100, anchors: 3, humans: 1, seed: 4 })
      await serverHas(server.wsUrl, from, (d) => readObjects(d).size === 100)
      const { ctx, site, stop } = context()
      const recording = runRecord({ ...common(from), out }, ctx)
      const recorder = await site
      // After the recorder's first sync: edits, a presence, and a deletion it must all see.
      const [first, second] = [...readObjects(writer.doc).keys()].sort().filter((id) => readObjects(writer.doc).get(id)!.type === 'component')
      moveObject(writer.doc, first!, readObjects(writer.doc).get(second!)!.parentId)
      const human = [...humansOf(writer.doc).keys()][0]!
      updateHuman(writer.doc, human, { speaking: true, expression: { preset: 'happy', intensity: 0.9 } })
      appendTranscript(writer.doc, human, ' Recorded words.')
      deleteObject(writer.doc, second!)
      writer.awareness.setLocalState(viewerPresence())
      await untilDoc(recorder.doc, 'the recorder to have every edit', (d) => content(d) === content(writer.doc))
      await until(
        'the writer’s presence at the recorder',
        () => recorder.awareness.getStates().has(writer.awareness.clientID),
        on(recorder.awareness, 'change'),
      )
      stop()
      const recorded = await recording
      expect(recorded).toMatchObject({ bot: 'record', stoppedBy: 'signal' })
      expect(recorded.stats.updates).toBeGreaterThanOrEqual(2) // the first sync, then the edits (the server may batch them)
      expect(recorded.stats.awareness).toBeGreaterThanOrEqual(1)
      expect((await readFile(out, 'utf8')).endsWith('\n')).toBe(true)

      const replay = context()
      const replayed = await runReplay({ ...common(to), in: out, speed: 4, presence: 'first' }, replay.ctx)
      expect(replayed).toMatchObject({
        bot: 'replay',
        stoppedBy: 'done',
        unconfirmed: 0,
        stats: { followedClient: writer.awareness.clientID, recordedDoc: from },
      })
      expect(replayed.stats.updates).toBe(recorded.stats.updates)
      const expected = content(writer.doc)
      await serverHas(server.wsUrl, to, (d) => content(d) === expected)
    } finally {
      writer.destroy()
    }
  }, 60_000)

  it('facility: components get readings and tags, visible to a second client', async () => {
    const doc = 'site/bots-facility'
    const viewer = provider(server.wsUrl, doc)
    try {
      await synced(viewer)
      generateSite(viewer.doc, { objects: 60, anchors: 0, humans: 0, seed: 2 })
      const { ctx, stop } = context()
      const running = runFacility({ ...common(doc), rate: 50, reading: true }, ctx)
      const withReading = (d: Y.Doc) => [...readObjects(d).values()].filter((o) => o.type === 'component' && o.reading !== undefined).length
      await untilDoc(viewer.doc, 'five components with readings', (d) => withReading(d) >= 5, 20_000)
      stop()
      const report = await running
      expect(report).toMatchObject({ bot: 'facility', stoppedBy: 'signal', unconfirmed: 0 })
      expect(report.stats.readings).toBeGreaterThanOrEqual(5)
    } finally {
      viewer.destroy()
    }
  }, 60_000)

  it('script: runs a module with a connected site, its args and a signal, and reports what it returned', async () => {
    const doc = 'site/bots-script'
    const file = join(await tempDir('atrium-script-'), 'make-building.mjs')
    await writeFile(
      file,
      `export default async function ({ site, args, signal }) {
  site.createObject('b-script', { type: 'building', parentId: null, name: args[0] })
  return { objects: site.objects().length, aborted: signal.aborted }
}
`,
    )
    const { ctx } = context()
    const report = await runScript({ ...common(doc), script: file, args: ['Built by a script'] }, ctx)
    expect(report).toMatchObject({ bot: 'script', stoppedBy: 'done', unconfirmed: 0, stats: { result: { objects: 1, aborted: false } } })
    await serverHas(server.wsUrl, doc, (d) => readObjects(d).get('b-script')?.name === 'Built by a script')
  }, 60_000)

  it('xr: the fleet of client/xr behind the bot flags, with its report', async () => {
    const { ctx } = context()
    const report = await runXr({ ...common('site/bots-xr'), durationS: 1, headsets: 3, hz: 30, anchors: 1 }, ctx)
    expect(report).toMatchObject({ bot: 'xr', stoppedBy: 'duration', stats: { headsets: 3, peersSeenMin: 2, anchorsCreated: 3, anchorsSeenMin: 3 } })
  }, 60_000)

  it('the bin: digital-human until SIGINT exits 0 with its JSON report', async () => {
    const doc = 'site/bots-bin'
    const viewer = provider(server.wsUrl, doc)
    const child = spawn(process.execPath, [BIN, 'digital-human', '--url', server.wsUrl, '--doc', doc, '--wpm', '600', '--json'], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const stderr: string[] = []
      createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line))
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      await synced(viewer)
      await untilDoc(viewer.doc, 'words from the bin', (d) => [...humansOf(d).values()].some((h) => String(h.get('transcript') ?? '').length > 0), 30_000)
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      const report = JSON.parse(stdout) as Record<string, unknown>
      expect(report).toMatchObject({ bot: 'digital-human', doc, stoppedBy: 'signal', unconfirmed: 0 })
      expect(stderr.join('\n')).toMatch(/digital-human on site\/bots-bin via .*: human .* spoke/)
    } finally {
      child.kill('SIGKILL')
      viewer.destroy()
    }
  }, 60_000)
})

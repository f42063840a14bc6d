/**
 * `npm run docs -- <command>`: inspect and move documents in the store the environment
 * configures (the same variables as the server: MONGODB_URL/MONGODB_DB, else DATA_DIR).
 *
 *   list [--after NAME] [--limit N]   names, one per line
 *   stats NAME                        size of snapshot and log, state, object counts (JSON)
 *   export NAME FILE|-                the whole document as one Yjs update
 *   import NAME FILE|-                appends a Yjs update file to the document (validated first)
 *   compact NAME                      merges the log into the snapshot now (in a worker thread)
 *
 * Moving a document from the embedded store to MongoDB:
 *   DATA_DIR=./data npm run docs -- export site/a a.yjs
 *   MONGODB_URL=mongodb://… npm run docs -- import site/a a.yjs
 * Import appends (Yjs merges it with whatever the document holds). A server that has the
 * document loaded does not see an import until it loads the document again; import through
 * a client (or with the document unloaded) when that matters.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as Y from 'yjs'
import { storedToDoc, type DocStore } from '../../persistence/doc-store.ts'
import { LmdbStore } from '../../persistence/lmdb-store.ts'
import { createMongoStore } from '../../persistence/mongo/mongo-backend.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import { ConfigError, mongoSettings, parseConfig, type Config } from '../config.ts'
import { WorkerPool } from '../workers/pool.ts'

const USAGE = `usage: npm run docs -- <command>
  list [--after NAME] [--limit N]
  stats NAME
  export NAME FILE|-
  import NAME FILE|-
  compact NAME
The store is the one the environment configures: MONGODB_URL (+ MONGODB_DB), else DATA_DIR.`

export class UsageError extends Error {}

function openStore(config: Config): DocStore {
  if (config.MONGODB_URL) {
    return createMongoStore(mongoSettings({ ...config, MONGODB_URL: config.MONGODB_URL })).store
  }
  return new LmdbStore({ path: resolve(config.DATA_DIR) })
}

function docName(raw: string | undefined): string {
  if (raw === undefined) throw new UsageError('missing document name')
  const check = checkDocName(raw)
  if (!check.ok) throw new UsageError(`invalid document name ${JSON.stringify(raw)}: ${check.error}`)
  return raw
}

async function loadDoc(store: DocStore, name: string): Promise<Y.Doc> {
  const stored = await store.load(name)
  if (!stored) throw new Error(`document ${JSON.stringify(name)} does not exist in the ${store.kind} store`)
  return storedToDoc(stored)
}

/** Top-level types and how many entries each holds (maps: keys; arrays and text: length). */
function shape(doc: Y.Doc): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, type] of doc.share) {
    const t = type as unknown as { _map: Map<string, { deleted: boolean }>; _length: number }
    out[key] = type._length > 0 ? type._length : [...t._map.values()].filter((item) => !item.deleted).length
  }
  return out
}

export async function run(argv: readonly string[], env: Record<string, string | undefined>, out: (line: string) => void): Promise<void> {
  const [command, ...args] = argv
  if (!command || command === '--help' || command === 'help') throw new UsageError('')
  const config = parseConfig(env)
  const store = openStore(config)
  try {
    switch (command) {
      case 'list': {
        const after = flag(args, '--after')
        const limit = Number(flag(args, '--limit') ?? 1000)
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer')
        for (const name of await store.list({ after, limit })) out(name)
        return
      }
      case 'stats': {
        const name = docName(args[0])
        const info = await store.info(name)
        if (!info) throw new Error(`document ${JSON.stringify(name)} does not exist in the ${store.kind} store`)
        const doc = await loadDoc(store, name)
        const state = Y.encodeStateAsUpdate(doc)
        out(JSON.stringify({ store: store.kind, ...info, stateBytes: state.length, clients: Y.decodeStateVector(Y.encodeStateVector(doc)).size, types: shape(doc) }, null, 2))
        return
      }
      case 'export': {
        const name = docName(args[0])
        const file = args[1]
        if (!file) throw new UsageError('missing output file (or - for stdout)')
        const update = Y.encodeStateAsUpdate(await loadDoc(store, name))
        if (file === '-') process.stdout.write(update)
        else {
          writeFileSync(file, update)
          out(`exported ${name}: ${update.length} bytes to ${file}`)
        }
        return
      }
      case 'import': {
        const name = docName(args[0])
        const file = args[1]
        if (!file) throw new UsageError('missing input file (or - for stdin)')
        const update = new Uint8Array(readFileSync(file === '-' ? 0 : file))
        try {
          Y.applyUpdate(new Y.Doc(), update)
        } catch (err) {
          throw new Error(`${file} is not a Yjs update (${(err as Error).message}); nothing was imported`)
        }
        if (update.length < 2) throw new Error(`${file} is empty; nothing was imported`)
        await store.append([{ name, update }])
        out(`imported ${update.length} bytes into ${name} (${store.kind})`)
        return
      }
      case 'compact': {
        const name = docName(args[0])
        const stored = await store.load(name)
        if (!stored) throw new Error(`document ${JSON.stringify(name)} does not exist in the ${store.kind} store`)
        if (stored.updates.length === 0) {
          out(`${name}: nothing to compact`)
          return
        }
        const pool = new WorkerPool(1)
        try {
          const started = performance.now()
          const merged = await pool.compact({ snapshot: stored.snapshot, updates: stored.updates })
          const written = await store.compact(name, merged.snapshot, merged.stateVector, stored.basis)
          if (!written) throw new Error(`${name} was compacted by someone else meanwhile; nothing written (run again to compact what is new)`)
          out(`compacted ${name}: ${stored.updates.length} log entries, ${merged.inputBytes} bytes → snapshot of ${merged.snapshot.length} bytes in ${Math.round(performance.now() - started)} ms`)
        } finally {
          await pool.close()
        }
        return
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`)
    }
  } finally {
    await store.close()
  }
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${err.message ? `${err.message}\n` : ''}${USAGE}\n`)
        process.exit(2)
      }
      process.stderr.write(`${err instanceof ConfigError ? err.message : `error: ${(err as Error).message}`}\n`)
      process.exit(err instanceof ConfigError ? 2 : 1)
    },
  )
}

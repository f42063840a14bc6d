/**
 * `npm run docs -- <command>`: inspect and move documents in the store the environment
 * configures (the same variables as the server: MONGODB_URL/MONGODB_DB, else DATA_DIR).
 *
 *   list [--after NAME] [--limit N]   names, one per line
 *   stats NAME                        size of snapshot and log, state, object counts (JSON)
 *   export NAME FILE|-                the whole document as one Yjs update
 *   import NAME FILE|-                appends a Yjs update file to the document (validated first)
 *   compact NAME                      merges the log into the snapshot now (in a worker thread)
 *   repair NAME                       makes a quarantined (poisoned) document loadable again
 *
 * Moving a document from the embedded store to MongoDB:
 *   DATA_DIR=./data npm run docs -- export site/a a.yjs
 *   MONGODB_URL=mongodb://… npm run docs -- import site/a a.yjs
 * Import appends (Yjs merges it with whatever the document holds). A server that has the
 * document loaded does not see an import until it loads the document again; import through
 * a client (or with the document unloaded) when that matters.
 *
 * Documents are read the way the server loads them (admission/stored.ts): each entry checked
 * first, so a poisoned document costs this tool seconds, not minutes; `stats` says whether the
 * server would quarantine it, `repair` rewrites it so that it loads.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as Y from 'yjs'
import { storedEntries, type DocStore, type StoredDoc } from '../../persistence/doc-store.ts'
import { LmdbStore } from '../../persistence/lmdb-store.ts'
import { createMongoStore } from '../../persistence/mongo/mongo-backend.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import { ConfigError, mongoSettings, parseConfig, type Config } from '../config.ts'
import { WorkerPool } from '../workers/pool.ts'
import { buildChecked, Poisoned, salvage, stallReason, type Checked } from '../admission/stored.ts'
import { scanUpdate } from '../admission/scan.ts'
import { sortedByClient } from '../admission/slices.ts'
import { AtriumError } from '../../shared/errors.ts'

const USAGE = `usage: npm run docs -- <command>
  list [--after NAME] [--limit N]
  stats NAME
  export NAME FILE|-
  import NAME FILE|- [--force]
  compact NAME
  repair NAME
The store is the one the environment configures: MONGODB_URL (+ MONGODB_DB), else DATA_DIR.`

/** A bad command line: the usage is printed with it (an empty message prints only the usage). */
export class UsageError extends AtriumError {
  override readonly name = 'UsageError'
}

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

async function loadStored(store: DocStore, name: string): Promise<StoredDoc> {
  const stored = await store.load(name)
  if (!stored) throw new Error(`document ${JSON.stringify(name)} does not exist in the ${store.kind} store`)
  return stored
}

/** The document as the server would load it: built (checked), or why it is quarantined. */
function check(stored: StoredDoc): Checked | { poisoned: string } {
  try {
    return buildChecked(storedEntries(stored))
  } catch (err) {
    if (err instanceof Poisoned) return { poisoned: err.detail }
    throw err
  }
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
        const checked = check(await loadStored(store, name))
        if ('poisoned' in checked) {
          // Not integrated (that is what would stall): sizes from the stored bytes alone.
          const merged = Y.mergeUpdates(storedEntries(await loadStored(store, name)))
          out(
            JSON.stringify(
              {
                store: store.kind,
                ...info,
                quarantined: checked.poisoned,
                stateBytes: merged.length,
                clients: Y.decodeStateVector(Y.encodeStateVectorFromUpdate(merged)).size,
              },
              null,
              2,
            ),
          )
          return
        }
        const state = Y.encodeStateAsUpdate(checked.doc)
        out(
          JSON.stringify(
            {
              store: store.kind,
              ...info,
              quarantined: null,
              loadsOnlyMerged: checked.merged,
              stateBytes: state.length,
              clients: Y.decodeStateVector(Y.encodeStateVector(checked.doc)).size,
              types: shape(checked.doc),
            },
            null,
            2,
          ),
        )
        return
      }
      case 'export': {
        const name = docName(args[0])
        const file = args[1]
        if (!file) throw new UsageError('missing output file (or - for stdout)')
        const stored = await loadStored(store, name)
        const checked = check(stored)
        // A poisoned document is exported as stored (merged, never integrated here).
        const update = 'poisoned' in checked ? Y.mergeUpdates(storedEntries(stored)) : Y.encodeStateAsUpdate(checked.doc)
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
        const bytes = new Uint8Array(readFileSync(file === '-' ? 0 : file))
        if (bytes.length < 2) throw new Error(`${file} is empty; nothing was imported`)
        let scanned: ReturnType<typeof scanUpdate>
        try {
          scanned = scanUpdate(bytes)
        } catch (err) {
          throw new Error(`${file} is not a Yjs update (${(err as Error).message}); nothing was imported`)
        }
        const stall = stallReason(new Y.Doc(), bytes)
        let update: Uint8Array
        if (stall) {
          if (!args.includes('--force'))
            throw new Error(
              `${file} would stall the server when loaded (${stall}); nothing was imported (--force imports it anyway: the server then quarantines the document until it is repaired)`,
            )
          update = sortedByClient(scanned)
        } else {
          // Stored as Yjs encodes it (what the server stores too), never as the file had it.
          const doc = new Y.Doc()
          try {
            Y.applyUpdate(doc, bytes)
          } catch (err) {
            throw new Error(`${file} is not a Yjs update (${(err as Error).message}); nothing was imported`)
          }
          if (doc.store.pendingStructs || doc.store.pendingDs) throw new Error(`${file} depends on content it does not contain; nothing was imported`)
          update = Y.encodeStateAsUpdate(doc)
        }
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
          out(
            `compacted ${name}: ${stored.updates.length} log entries, ${merged.inputBytes} bytes → snapshot of ${merged.snapshot.length} bytes in ${Math.round(performance.now() - started)} ms`,
          )
        } finally {
          await pool.close()
        }
        return
      }
      case 'repair': {
        const name = docName(args[0])
        const first = check(await loadStored(store, name))
        if (!('poisoned' in first) && !first.merged) {
          out(`${name} loads as it is; nothing to repair`)
          return
        }
        // A marker entry, so the compaction below has a log to replace even for a snapshot-only
        // document; then everything is read again, so what is written covers all that is deleted.
        await store.append([{ name, update: Y.encodeStateAsUpdate(new Y.Doc()) }])
        const stored = await loadStored(store, name)
        const checked = check(stored)
        let repaired: Y.Doc
        if (!('poisoned' in checked)) {
          repaired = checked.doc
          out(`${name} loads only with its log merged; storing it merged (nothing left out)`)
        } else {
          const saved = salvage(storedEntries(stored))
          repaired = saved.doc
          out(
            `${name} would stall even merged (${checked.poisoned}); left out ${saved.structsLeftOut} structs of ${saved.dropped.length} client ids: ${saved.dropped.slice(0, 20).join(', ')}${saved.dropped.length > 20 ? ', …' : ''}`,
          )
          out('clients that still hold the left-out content must reload the document: the server refuses to take it back')
        }
        const state = Y.encodeStateAsUpdate(repaired)
        const written = await store.compact(name, state, Y.encodeStateVector(repaired), stored.basis)
        if (!written) throw new Error(`${name} changed while it was being repaired; nothing written (run again)`)
        out(`repaired ${name}: ${state.length} bytes; a server loads it at the next attempt (it re-checks a quarantined document every 30 s)`)
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

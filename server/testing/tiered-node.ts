/**
 * Test harness entry: an Atrium process in MongoDB mode's shape (local outbox in DATA_DIR,
 * shipped to a shared store) with an LMDB directory standing in for MongoDB, so tests can
 * SIGKILL it in the middle of shipping or of a compaction and restart it. Test-only knobs:
 *   TEST_REMOTE_DIR             the shared store's directory
 *   TEST_SHIP_DELAY_MS          each shipped batch waits this long before it is written
 *   TEST_SHIP_BATCH_ENTRIES     largest batch shipped at once (default 10)
 *   TEST_COMPACT_PAUSE_MS       a compaction stops this long after switching the snapshot,
 *                               before deleting the merged log (and first touches
 *                               TEST_REMOTE_DIR/compaction-switched)
 */
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LogStore } from '../../persistence/mongo/log-store.ts'
import { openLmdbOutbox } from '../../persistence/outbox.ts'
import { ShippingStore } from '../../persistence/shipping-store.ts'
import { createAtrium } from '../atrium.ts'
import { parseConfig } from '../config.ts'
import { createLogger } from '../log.ts'
import { LmdbLogBackend } from '../../persistence/testing/lmdb-log-backend.ts'

const config = parseConfig(process.env)
const remoteDir = resolve(process.env.TEST_REMOTE_DIR ?? 'remote')
const shipDelay = Number(process.env.TEST_SHIP_DELAY_MS ?? 0)
const compactPause = Number(process.env.TEST_COMPACT_PAUSE_MS ?? 0)
const backend = new LmdbLogBackend(remoteDir)
backend.hook = async (op) => {
  if (op === 'insertLog' && shipDelay > 0) await new Promise((r) => setTimeout(r, shipDelay)) // injected latency of the shared store, not a wait
  if (op === 'deleteLog' && compactPause > 0) {
    writeFileSync(join(remoteDir, 'compaction-switched'), String(Date.now()))
    await new Promise((r) => setTimeout(r, compactPause)) // holds the compaction here for the test to SIGKILL, not a wait
  }
}
const store = new ShippingStore({
  outbox: openLmdbOutbox(resolve(config.DATA_DIR)),
  remote: new LogStore(backend),
  batchEntries: Number(process.env.TEST_SHIP_BATCH_ENTRIES ?? 10),
})
const server = await createAtrium({ config, logger: createLogger({ level: config.LOG_LEVEL, pretty: false }), store })
process.once(
  'SIGTERM',
  () =>
    void server
      .close()
      .then(() => store.close())
      .then(() => process.exit(0)),
)

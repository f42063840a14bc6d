/**
 * The worker-thread pool (piscina) for everything that may take over a millisecond on a
 * large document. Tasks are files next to this one; from source (.ts) the workers load
 * them through tsx, from a build (.js) directly.
 */
import { Piscina } from 'piscina'
import type { ChunkInput, CompactInput, CompactOutput } from './compact.worker.ts'

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const taskFile = (name: string) => new URL(`./${name}.worker${ext}`, import.meta.url).href

export class WorkerPool {
  private readonly piscina: Piscina

  constructor(threads: number) {
    this.piscina = new Piscina({
      filename: taskFile('compact'),
      // Started on demand: an idle node holds no worker thread (about 25 MiB each).
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 30_000,
      ...(ext === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
    })
  }

  compact(input: CompactInput): Promise<CompactOutput> {
    return this.piscina.run(input)
  }

  /** Merges updates off the event loop (shipping a backlog to MongoDB). */
  merge(updates: readonly Uint8Array[]): Promise<Uint8Array> {
    return this.piscina.run(updates, { name: 'merge' })
  }

  /** A large update as chunks in Yjs's order (a large first sync, sent paced). */
  chunk(input: ChunkInput): Promise<Uint8Array[]> {
    return this.piscina.run(input, { name: 'chunk' })
  }

  /** Idempotent. */
  async close(): Promise<void> {
    await this.piscina.close()
  }
}

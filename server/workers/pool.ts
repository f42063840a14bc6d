/**
 * The worker-thread pool (piscina) for everything that may take over a millisecond on a
 * large document: compaction, merges and chunking, all tasks of `compact.worker.ts`.
 */
import type { Piscina } from 'piscina'
import type { ChunkInput, CompactInput, CompactOutput, RebaseInput } from './compact.worker.ts'
import { createPool } from './piscina.ts'

export class WorkerPool {
  private readonly piscina: Piscina

  constructor(threads: number) {
    // A thread that merged or cut a large document holds a heap the size of its model: returned 5 s after its last task.
    this.piscina = createPool({ task: 'compact', maxThreads: threads, idleTimeout: 5_000 })
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

  /** A document's parts merged and cut into chunks (a warm full state). */
  rebase(input: RebaseInput): Promise<Uint8Array[]> {
    return this.piscina.run(input, { name: 'rebase' })
  }

  /** Idempotent. */
  async close(): Promise<void> {
    await this.piscina.close()
  }
}

/**
 * A node near its memory budget sheds what nobody uses before it refuses anything, and refuses
 * before it dies: every second it reads its RSS, and
 * - from UNLOAD_AT of the budget it unloads the documents nobody is connected to (those waiting
 *   out DOC_UNLOAD_GRACE_MS, the longest idle first; each only once everything of it is durable);
 * - from REFUSE_AT it refuses to load more documents, with a retryable code (WebSocket 4534,
 *   REST 503), until RSS is back under RESUME_AT, or the live memory (heap and buffers) under
 *   RESUME_LIVE_AT: freed memory is reused, though RSS may never show it. Documents already
 *   loaded go on being served.
 *
 * The budget is MEMORY_BUDGET_MB, or by default 80 % of the memory the process may have (its
 * cgroup's limit, else the machine's): `memoryBudget`.
 */
import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'

/** Fractions of the budget. */
export const UNLOAD_AT = 0.9
export const REFUSE_AT = 1
export const RESUME_AT = 0.95
/** …or once the memory the process really uses (V8 heap and buffers) is under this: RSS may stay high after frees (malloc keeps its pages), and the freed pages are what new documents reuse. */
export const RESUME_LIVE_AT = 0.7

export interface MemoryGuardOptions {
  readonly budgetBytes: number
  /** The process's resident memory now (process.memoryUsage.rss). */
  readonly rss: () => number
  /** The memory it uses in live objects (V8 heap used and external): resuming does not wait for RSS alone. */
  readonly live?: () => number
  /** Unloads every document nobody is connected to; returns how many. */
  readonly unloadIdle: () => number
  /** Told of each change of state, for logs and metrics. */
  readonly observe?: (event: { kind: 'unloading'; documents: number; rss: number } | { kind: 'refusing' | 'resumed'; rss: number }) => void
  readonly intervalMs?: number
}

export class MemoryGuard {
  /** New documents are refused while this holds. */
  refusing = false
  private readonly timer: NodeJS.Timeout

  constructor(private readonly opts: MemoryGuardOptions) {
    this.timer = setInterval(() => this.check(), opts.intervalMs ?? 1000)
    this.timer.unref()
    this.check()
  }

  /** Why a new document may not be loaded now, or null. */
  refusal(): string | null {
    return this.refusing ? `the node uses more than its memory budget of ${Math.round(this.opts.budgetBytes / 2 ** 20)} MiB (MEMORY_BUDGET_MB)` : null
  }

  /** One look at the memory (run every second; callable at once). */
  check(): void {
    const { budgetBytes, observe } = this.opts
    const rss = this.opts.rss()
    if (rss >= UNLOAD_AT * budgetBytes) {
      const documents = this.opts.unloadIdle()
      if (documents > 0) observe?.({ kind: 'unloading', documents, rss })
    }
    // Live memory low means RSS is freed pages malloc kept: they are reused, so no refusal (and no flapping).
    const liveLow = (this.opts.live?.() ?? Number.POSITIVE_INFINITY) < RESUME_LIVE_AT * budgetBytes
    if (!this.refusing && rss >= REFUSE_AT * budgetBytes && !liveLow) {
      this.refusing = true
      observe?.({ kind: 'refusing', rss })
    } else if (this.refusing && (rss < RESUME_AT * budgetBytes || liveLow)) {
      this.refusing = false
      observe?.({ kind: 'resumed', rss })
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

/** The budget: MEMORY_BUDGET_MB when set, else 80 % of the cgroup's memory limit, else of the machine's memory. */
export function memoryBudget(configuredMb: number | undefined, cgroupLimit = readCgroupLimit(), machine = totalmem()): number {
  if (configuredMb !== undefined) return configuredMb * 2 ** 20
  const limit = cgroupLimit !== null && cgroupLimit < machine ? cgroupLimit : machine
  return Math.floor(0.8 * limit)
}

/** cgroup v2's memory.max (or v1's limit), or null when there is none. */
function readCgroupLimit(): number | null {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = readFileSync(path, 'utf8').trim()
      if (text === 'max') return null
      const bytes = Number(text)
      if (Number.isFinite(bytes) && bytes > 0) return bytes
    } catch {
      // Not this cgroup version, or not in a container: try the next, then use the machine's memory.
    }
  }
  return null
}

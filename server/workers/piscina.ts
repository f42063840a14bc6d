/**
 * The one way Atrium starts worker threads (piscina), for the shared pool and the compute
 * worker alike. A task is a file next to this one, `<task>.worker.ts|.js`: from source the
 * workers load it through tsx, from a build directly.
 */
import { Piscina } from 'piscina'

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

export interface PoolOptions {
  readonly task: 'compact' | 'compute'
  readonly maxThreads: number
  /** How long an idle thread is kept (ms; Infinity: for good). */
  readonly idleTimeout: number
}

export function createPool({ task, maxThreads, idleTimeout }: PoolOptions): Piscina {
  return new Piscina({
    filename: new URL(`./${task}.worker${ext}`, import.meta.url).href,
    // Started on demand: an idle node holds no worker thread (about 25 MiB each), and most never compute.
    minThreads: 0,
    maxThreads,
    idleTimeout,
    ...(ext === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
  })
}

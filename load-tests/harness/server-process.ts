/**
 * Test harness: runs Atrium as a real child process on port 0 and reads the port from its
 * "listening" log line. Every process is killed in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../server/main.ts', import.meta.url))
/** The compiled entry (`npm run build`), as production runs it; benchmarks use this. */
export const BUILT_MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url))

export interface ServerProcess {
  readonly port: number
  readonly wsUrl: string
  readonly httpUrl: string
  readonly dataDir: string
  readonly proc: ChildProcess
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[]
  readonly stderr: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export async function tempDir(prefix = 'atrium-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

const running = new Set<ChildProcess>()
/** Kills every server a test file started (call in afterAll / afterEach). */
export function killAllServers(): void {
  for (const proc of running) proc.kill('SIGKILL')
  running.clear()
}

/** Runs main.ts with the given environment and resolves once it listens (or rejects with its output). */
export async function startServerProcess(
  env: Record<string, string | number> = {},
  dataDir?: string,
  options: { built?: boolean; builtMain?: string; entry?: string } = {},
): Promise<ServerProcess> {
  const dir = dataDir ?? (await tempDir())
  const args = options.built ? [options.builtMain ?? BUILT_MAIN] : ['--import', 'tsx', options.entry ?? MAIN]
  const proc = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'info', DOC_UNLOAD_GRACE_MS: '1000', ...stringify(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(proc)
  const logs: Record<string, unknown>[] = []
  const stderr: string[] = []
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc)
      resolve({ code, signal })
    }),
  )
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`server printed no "listening" line within 20 s (LOG_LEVEL must be info or lower):\n${stderr.join('\n')}`))
    }, 20_000)
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        if (entry.msg === 'listening') {
          clearTimeout(timer)
          resolve(entry.port as number)
        }
      } catch {
        stderr.push(line)
      }
    })
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${stderr.join('\n')}`)))
    void exited.finally(() => clearTimeout(timer))
  })
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    dataDir: dir,
    proc,
    logs,
    stderr,
    exited,
    kill: (signal = 'SIGTERM') => {
      proc.kill(signal)
      return exited
    },
  }
}

function stringify(env: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))
}

/** Reads one Prometheus sample (summing over labels unless `labels` narrows it). */
export async function metric(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:]+)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/.exec(line)
    if (!m || m[1] !== name) continue
    const labelText = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(m[3])
  }
  return sum
}

/**
 * A real redis-server for tests: started on a free port as our child process, stopped by
 * its pid, never shared with (or touching) any other Redis on the machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Stops it (SIGKILL: the abrupt outage clients see in production). */
  stop(): Promise<void>
  /** Starts it again on the same port (a fresh, empty server). */
  start(): Promise<void>
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

const running = new Set<ChildProcess>()

export function stopAllRedis(): void {
  for (const proc of running) proc.kill('SIGKILL')
  running.clear()
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

export async function startRedis(): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed: apt-get install -y redis-server (.ci/run does this)')
  const port = await freePort()
  let proc: ChildProcess | null = null
  const start = async () => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    running.add(child)
    proc = child
    const output: string[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${output.join('\n')}`)), 10_000)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output.push(line)
        if (line.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited (${code}) on ${port}:\n${output.join('\n')}`))
      })
    })
  }
  const stop = async () => {
    const child = proc
    proc = null
    if (!child || child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    running.delete(child)
  }
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
}

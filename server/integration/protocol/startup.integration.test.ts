import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const MAIN = fileURLToPath(new URL('../../main.ts', import.meta.url))

/** Runs main.ts to completion (it must exit by itself) and collects its output. */
function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: '/nonexistent-never-created', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d) => (stdout += d))
    proc.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('start-up validation', () => {
  const bad: [string, string, RegExp][] = [
    ['PORT', 'eighty', /^Invalid configuration: PORT is "eighty"; allowed: an integer from 0 to 65535$/],
    ['PORT', '70000', /PORT is "70000"; allowed: an integer from 0 to 65535/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL is "loud"; allowed: one of fatal, error, warn, info, debug, trace, silent/],
    ['MAX_MESSAGE_BYTES', '12', /MAX_MESSAGE_BYTES is "12"; allowed: an integer from 1024 to/],
    ['FLUSH_INTERVAL_MS', '0', /FLUSH_INTERVAL_MS is "0"; allowed: an integer from 1 to 1000/],
    ['DOC_UNLOAD_GRACE_MS', '-5', /DOC_UNLOAD_GRACE_MS is "-5"/],
    ['REDIS_URL', 'localhost:6379', /REDIS_URL is "localhost:6379"; allowed: a string matching \^rediss\?/],
    ['REDIS_CLUSTER_NODES', 'a:1,b', /REDIS_CLUSTER_NODES is "a:1,b"; allowed: a string matching/],
    ['NODE_ID', 'node one', /NODE_ID is "node one"; allowed: a string matching/],
    ['ANTI_ENTROPY_INTERVAL_MS', '10', /ANTI_ENTROPY_INTERVAL_MS is "10"; allowed: an integer from 100 to/],
    ['MONGODB_URL', 'http://db:27017', /MONGODB_URL is "http:\/\/db:27017"; allowed: a string matching \^mongodb/],
    ['MONGODB_WRITE_CONCERN', '0', /MONGODB_WRITE_CONCERN is "0"; allowed: a string matching/],
    ['SHIP_QUEUE_MAX_BYTES', '1024', /SHIP_QUEUE_MAX_BYTES is "1024"; allowed: an integer from 1048576 to/],
    ['SCHEMA_DOCS', '((', /SCHEMA_DOCS is "\(\(": not a valid regular expression/],
  ]
  for (const [name, value, message] of bad) {
    it(`refuses ${name}=${value} with one line naming it, exit code 2`, async () => {
      const { code, stdout, stderr } = await run({ [name]: value })
      expect(code).toBe(2)
      expect(stdout).toBe('')
      const lines = stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(message)
    })
  }

  it('refuses to start on the uWebSockets.js JavaScript fallback', async () => {
    const { code, stdout } = await run({ UWS_USE_FALLBACK: '1' })
    expect(code).toBe(1)
    expect(stdout).toMatch(/native binding is not active/)
    expect(stdout).not.toMatch(/"listening"/)
  })
})

/**
 * The README's SDK example, run as a user runs it (its own process, against a real server):
 * it must sync, write, see its own change confirmed and exit 0.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { killAllServers, startServerProcess } from '../../load-tests/harness/server-process.ts'

afterAll(() => killAllServers())

describe('client/examples/hello-site.ts', () => {
  it('runs against a server, twice (the second run finds the building), and exits 0', async () => {
    const server = await startServerProcess()
    const file = new URL('./hello-site.ts', import.meta.url).pathname
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ATRIUM_URL: server.wsUrl }, timeout: 30_000 })
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run()
      expect(stdout).toContain('status: synced, 0 pending')
      expect(stdout).toMatch(/updated hq:/)
      expect(stdout).toMatch(/HQ, edited .*: 1 floor\(s\)/)
      expect(stdout.trim().split('\n').at(-1)).toBe('status: closed, 0 pending')
    }
  })
})

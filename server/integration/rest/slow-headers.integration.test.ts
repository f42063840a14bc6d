/**
 * Slow headers (slowloris): a client that dribbles a request's headers one line every 2 s is
 * closed by uWebSockets.js itself, about 10 s after it connected (its HTTP idle timeout is not
 * renewed by partial headers), so it cannot hold a socket open for ever.
 */
import { connect } from 'node:net'
import { afterAll, expect, it } from 'vitest'
import { killAllServers, startServerProcess } from '../../../load-tests/harness/server-process.ts'

afterAll(() => killAllServers())

it('a request whose headers never end is closed within about ten seconds', async () => {
  const server = await startServerProcess()
  const closedAfter = await new Promise<number>((resolve) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      const started = Date.now()
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
      const dribble = setInterval(() => socket.write('X-Slow: 1\r\n'), 2000) // the attack's pace, not a wait
      socket.on('close', () => {
        clearInterval(dribble)
        resolve(Date.now() - started)
      })
    })
    socket.on('error', () => {})
  })
  expect(closedAfter).toBeLessThan(20_000)
}, 30_000)

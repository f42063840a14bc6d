/**
 * The y-websocket reference server (@y/websocket-server) on `ws`, in memory, as its own
 * bin starts it. Prints {"port": N} when ready.
 *   node --import tsx load-tests/peers/y-websocket.ts [port]
 */
import http from 'node:http'
import { setupWSConnection } from '@y/websocket-server/utils'
import { WebSocketServer } from 'ws'

const wss = new WebSocketServer({ noServer: true })
const server = http.createServer((_req, res) => res.writeHead(200).end('ok'))
wss.on('connection', setupWSConnection)
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address()
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

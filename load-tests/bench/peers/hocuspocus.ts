/**
 * Hocuspocus (the peer we measure against) with default settings and no extensions: the
 * in-memory document server a user gets from `new Server()`. Prints {"port": N} when ready.
 *   node --import tsx load-tests/peers/hocuspocus.ts [port]
 */
import { Server } from '@hocuspocus/server'

const server = new Server({ port: Number(process.argv[2] ?? 0), address: '127.0.0.1', quiet: true })
await server.listen()
console.log(JSON.stringify({ port: server.address.port }))
process.on('SIGTERM', () => void server.destroy().then(() => process.exit(0)))

/**
 * A minimal uWebSockets.js + Yjs server: the least a Yjs server can do, as a yardstick, not a
 * peer anyone would deploy. One Y.Doc per path, a sync step 1 answered with
 * `encodeStateAsUpdate` in one frame (plus its own step 1), updates applied and forwarded to
 * the path's other sockets as they came. No storage, no checks, no batching, no awareness
 * bookkeeping (forwarded as is). Prints {"port": N} when ready.
 *   node --import tsx load-tests/bench/peers/uws-yjs.ts [port]
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { encodeSyncStep1, encodeSyncStep2 } from '../../../shared/protocol/messages.ts'
import { uWS } from '../../../server/transport/uws.ts'

const docs = new Map<string, Y.Doc>()
const app = uWS.App()
app.ws<{ topic: string }>('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 256 * 1024 * 1024,
  maxBackpressure: 1024 * 1024 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, context) =>
    res.upgrade(
      { topic: req.getUrl() },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    ),
  open: (ws) => {
    const { topic } = ws.getUserData()
    if (!docs.has(topic)) docs.set(topic, new Y.Doc())
    ws.subscribe(topic)
  },
  message: (ws, message) => {
    const { topic } = ws.getUserData()
    const doc = docs.get(topic)!
    const frame = new Uint8Array(message)
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) !== 0) return void ws.publish(topic, message, true) // awareness: as is
    const syncType = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (syncType === 0) {
      ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(doc, payload)), true)
      ws.send(encodeSyncStep1(Y.encodeStateVector(doc)), true)
      return
    }
    Y.applyUpdate(doc, payload)
    ws.publish(topic, message, true)
  },
})
app.listen('127.0.0.1', Number(process.argv[2] ?? 0), (socket) => {
  if (!socket) process.exit(1)
  console.log(JSON.stringify({ port: uWS.us_socket_local_port(socket) }))
})

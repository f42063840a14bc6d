/**
 * A bare uWebSockets.js relay: the floor, not a peer. It answers a sync step 1 with an empty
 * document and forwards every other frame to the document's other sockets, with no Yjs, no
 * storage and no validation. Its CPU per delivery and RSS per connection show what the
 * transport alone costs on this machine, so the table can say how far above the floor each
 * real server is. Prints {"port": N} when ready.
 *   node --import tsx load-tests/peers/uws-relay.ts [port]
 */
import { uWS } from '../../../server/transport/uws.ts'

const EMPTY_STEP2 = Uint8Array.of(0, 1, 2, 0, 0) // sync, step 2, an empty update (0 structs, 0 deletes)
const app = uWS.App()
app.ws<{ topic: string }>('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, context) =>
    res.upgrade(
      { topic: req.getUrl() },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    ),
  open: (ws) => void ws.subscribe(ws.getUserData().topic),
  message: (ws, message) => {
    const b = new Uint8Array(message)
    if (b[0] === 0 && b[1] === 0) ws.send(EMPTY_STEP2, true)
    else ws.publish(ws.getUserData().topic, message, true)
  },
})
app.listen('127.0.0.1', Number(process.argv[2] ?? 0), (socket) => {
  if (!socket) process.exit(1)
  console.log(JSON.stringify({ port: uWS.us_socket_local_port(socket) }))
})

/**
 * Every WebSocket close code Atrium sends, as data: the server closes with these, clients look
 * them up by number (describeCloseCode), and server/readme.test.ts keeps the README's table true.
 * `retry`: whether a client should reconnect and try again (true) or surface the error.
 * The numbers follow y-websocket's rule (3.1 and later stop reconnecting on 4400–4499, the
 * "4xx" of close codes): a code a client should retry is never in that range, so an unchanged
 * provider reconnects after 45xx and gives up after 44xx.
 */
export interface CloseCode {
  readonly code: number
  readonly name: string
  readonly reason: string
  readonly retry: boolean
}

function define<const T extends Record<string, Omit<CloseCode, 'name'>>>(table: T): { [K in keyof T]: CloseCode } {
  const out = {} as { [K in keyof T]: CloseCode }
  for (const name of Object.keys(table) as (keyof T & string)[]) {
    const entry = table[name]!
    if (new TextEncoder().encode(entry.reason).length > 123) throw new Error(`close reason of ${name} exceeds 123 bytes`)
    out[name] = Object.freeze({ name, ...entry }) as CloseCode
  }
  return Object.freeze(out)
}

export const CloseCodes = define({
  NORMAL: { code: 1000, reason: 'normal closure', retry: false },
  GOING_AWAY: { code: 1001, reason: 'server shutting down', retry: true },
  INTERNAL_ERROR: { code: 1011, reason: 'internal server error', retry: true },
  MALFORMED_MESSAGE: { code: 4400, reason: 'malformed message: truncated or garbled frame', retry: false },
  UNAUTHORIZED: { code: 4401, reason: 'unauthorized: no token, or a token that is malformed, forged or revoked', retry: false },
  INVALID_UPDATE: { code: 4402, reason: 'invalid update: Yjs could not decode or apply it', retry: false },
  FORBIDDEN: { code: 4403, reason: 'forbidden: the token gives no right to this document, or the page origin is not allowed', retry: false },
  INVALID_DOCUMENT_NAME: { code: 4404, reason: 'invalid document name', retry: false },
  UNKNOWN_MESSAGE_TYPE: { code: 4405, reason: 'unknown message type', retry: false },
  CONNECTION_TIMEOUT: { code: 4408, reason: 'connection timeout: no document opened on this socket in time (Hocuspocus)', retry: false },
  UPDATE_OVER_LIMIT: { code: 4413, reason: 'update over a server limit; nothing of it was applied', retry: false },
  MESSAGE_TOO_BIG: { code: 4414, reason: 'message exceeds MAX_MESSAGE_BYTES', retry: false },
  INVALID_AWARENESS: { code: 4415, reason: 'awareness refused: not JSON, too large, or a clock out of range', retry: false },
  STATELESS_REFUSED: { code: 4416, reason: 'stateless message over MAX_STATELESS_BYTES', retry: false },
  SCHEMA_VIOLATION: { code: 4422, reason: 'update breaks the document schema', retry: false },
  RATE_LIMITED: { code: 4429, reason: 'too many messages or bytes per second from this connection', retry: false },
  DOCUMENT_UNAVAILABLE: { code: 4503, reason: 'document could not be loaded from storage; retry later', retry: true },
  QUEUE_FULL: { code: 4508, reason: 'too many messages waiting: the document is loading or applying a large update', retry: true },
  TOO_SLOW: { code: 4509, reason: 'too slow: the server buffered too much for this connection; reconnect to resync', retry: true },
  DOCUMENT_QUARANTINED: { code: 4523, reason: 'document quarantined: loading it would stall the server; an operator must repair it', retry: true },
  UPDATE_OUT_OF_ORDER: { code: 4525, reason: 'update depends on content the server does not have yet; reconnect to resync', retry: true },
  SERVER_BUSY: { code: 4529, reason: 'server busy applying large updates; retry shortly', retry: true },
  AUTH_UNAVAILABLE: { code: 4531, reason: 'the token could not be checked (key set unreachable); retry shortly', retry: true },
  TOO_MANY_CONNECTIONS: { code: 4532, reason: 'too many connections on this node or from this address; retry later', retry: true },
  TOO_MANY_DOCUMENTS: { code: 4533, reason: 'this node holds as many documents as it may; retry later', retry: true },
  MEMORY_PRESSURE: { code: 4534, reason: 'this node is near its memory budget; retry later', retry: true },
  TOKEN_EXPIRED: { code: 4540, reason: 'token expired: reconnect with a new token', retry: true },
  TOKEN_REVOKED: { code: 4541, reason: 'token revoked: reconnect with a new token', retry: true },
})

export type CloseCodeName = keyof typeof CloseCodes

const byCode = new Map<number, CloseCode>(Object.values(CloseCodes).map((c) => [c.code, c]))

/** Looks a close code up by its number (for clients and logs). */
export function describeCloseCode(code: number): CloseCode | undefined {
  return byCode.get(code)
}

/**
 * Every error the REST API answers, as data (like the WebSocket close codes in
 * shared/protocol/close-codes.ts); the README table is checked against this list.
 *
 * The body is `{ "error": code, "message": message }`. `code` is what a client switches on:
 * it names a kind of problem and several entries share one (every 404 is `not_found`), so a
 * new entry of a known kind needs no change in clients. The entry's name tells them apart
 * here and in the README.
 * `{placeholder}`s in a message are filled per answer (a document name, a size, a reason);
 * the types make every one of them required at the call site.
 */
export interface HttpError<M extends string = string> {
  readonly name: string
  readonly code: string
  readonly status: number
  readonly message: M
}

/** The `{placeholder}` names of a message (not `{"label": …}` in an example of JSON). */
export type Placeholders<M extends string> = M extends `${string}{${infer P}}${infer Rest}`
  ? (P extends `${string}${'"' | ' '}${string}` ? never : P) | Placeholders<Rest>
  : never

function define<const T extends Record<string, Omit<HttpError, 'name'>>>(table: T): { readonly [K in keyof T]: HttpError<T[K]['message']> } {
  const out = {} as { [K in keyof T]: HttpError<T[K]['message']> }
  for (const name of Object.keys(table) as (keyof T & string)[]) {
    out[name] = Object.freeze({ name, ...table[name]! }) as HttpError<T[typeof name]['message']>
  }
  return Object.freeze(out)
}

export const HttpErrors = define({
  BAD_NAME: { code: 'bad_name', status: 400, message: '{reason}' },
  BAD_NAME_ESCAPE: { code: 'bad_name', status: 400, message: 'document name has an invalid percent-escape' },
  BAD_ID: { code: 'bad_id', status: 400, message: 'an object id is 1-128 characters of A-Z a-z 0-9 _ . : -' },
  BAD_ID_ESCAPE: { code: 'bad_id', status: 400, message: 'id has an invalid percent-escape' },
  BAD_LIMIT: { code: 'bad_limit', status: 400, message: 'limit must be an integer from 1 to 1000' },
  BAD_QUERY: { code: 'bad_query', status: 400, message: '{issue}' },
  BAD_JSON: { code: 'bad_json', status: 400, message: 'the body is not JSON' },
  BAD_BODY: { code: 'bad_body', status: 400, message: '{issue}' },
  UNAUTHORIZED: { code: 'unauthorized', status: 401, message: '{reason}' },
  TOKEN_EXPIRED: { code: 'token_expired', status: 401, message: 'the token expired; send a new one' },
  FORBIDDEN: { code: 'forbidden', status: 403, message: 'the token gives no {right} right to {name}' },
  ADMIN_ONLY: { code: 'forbidden', status: 403, message: 'this route needs a token with the admin claim' },
  ROUTE_NOT_FOUND: { code: 'not_found', status: 404, message: 'no such route' },
  POST_NOT_FOUND: { code: 'not_found', status: 404, message: 'POST goes to /api/documents/<name>/snapshots or /api/admin/revocations' },
  DOCUMENT_NOT_FOUND: { code: 'not_found', status: 404, message: 'no document named {name}' },
  RESOURCE_NOT_FOUND: { code: 'not_found', status: 404, message: 'no resource {resource} (analytics, export.svg, objects/<id>)' },
  SNAPSHOT_NOT_FOUND: { code: 'not_found', status: 404, message: 'no snapshot {id} of {name}' },
  OBJECT_NOT_FOUND: { code: 'not_found', status: 404, message: 'no object {id} in {name}' },
  /** What a computation could not find (an export's floor). */
  COMPUTE_NOT_FOUND: { code: 'not_found', status: 404, message: '{reason}' },
  NOT_A_SITE: { code: 'not_a_site', status: 409, message: '{name} is not a site document (SCHEMA_DOCS); it has no analytics, export or objects' },
  NOT_A_SITE_SNAPSHOT: { code: 'not_a_site', status: 409, message: '{name} is not a site document (SCHEMA_DOCS); named snapshots are for site documents' },
  SNAPSHOT_LIMIT: { code: 'limit', status: 409, message: '{name} keeps {count} snapshots (MAX_SNAPSHOTS_PER_DOCUMENT)' },
  SNAPSHOT_RATE: { code: 'rate_limited', status: 429, message: '{count} snapshots of {name} in the last minute (MAX_SNAPSHOTS_PER_MINUTE); retry later' },
  REQUEST_RATE: { code: 'rate_limited', status: 429, message: 'too many compute requests from this address (MAX_COMPUTE_REQUESTS_PER_S); retry shortly' },
  BODY_TOO_LARGE: { code: 'too_large', status: 413, message: 'request body over {max} bytes' },
  JSON_TOO_LARGE: {
    code: 'too_large',
    status: 413,
    message: 'the document is {bytes} bytes as JSON (over MAX_REST_JSON_BYTES, {max}); export it with npm run docs -- export',
  },
  BAD_REVOCATION_TYPE: { code: 'bad_content_type', status: 415, message: 'send {"jti": "…"} or {"sub": "…"} as application/json' },
  BAD_CONTENT_TYPE: { code: 'bad_content_type', status: 415, message: 'send {"label": "…"} as application/json' },
  INTERNAL: { code: 'internal', status: 500, message: 'internal server error' },
  COMPUTE_BUSY: { code: 'busy', status: 503, message: '{waiting} computations are waiting for the compute worker; retry shortly' },
  DOCUMENT_QUARANTINED: {
    code: 'quarantined',
    status: 503,
    message: 'the document is quarantined ({reason}); an operator must repair it: npm run docs -- repair',
  },
  DOCUMENT_UNAVAILABLE: { code: 'unavailable', status: 503, message: 'the document could not be loaded from storage; retry later' },
  AUTH_UNAVAILABLE: { code: 'unavailable', status: 503, message: 'the token could not be checked: {reason}; retry shortly' },
  TOO_MANY_DOCUMENTS: { code: 'busy', status: 503, message: 'this node holds {loaded} documents (MAX_LOADED_DOCUMENTS); retry later' },
  MEMORY_PRESSURE: { code: 'busy', status: 503, message: '{reason}; retry later' },
  VERSION_UNAVAILABLE: { code: 'unavailable', status: 503, message: 'the version could not be stored; retry later' },
})

/** What a message's placeholders are filled with: nothing for a fixed message. */
export type Values<M extends string> = [Placeholders<M>] extends [never] ? [] : [values: Record<Placeholders<M>, string | number>]

/** The answer's body: the entry's code, and its message with the placeholders filled. */
export function errorBody<M extends string>(error: HttpError<M>, ...[values]: Values<M>): { error: string; message: string } {
  const fill: Record<string, string | number> = values ?? {}
  return { error: error.code, message: error.message.replace(/\{(\w+)\}/g, (whole, key: string) => String(fill[key] ?? whole)) }
}

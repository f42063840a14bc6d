/**
 * What a client may read from its own token without verifying it (the server verifies): the
 * claims that change what the server will grant, so the client knows it in advance and can
 * offer the right controls. The server has the last word and says so with a close code.
 */
import { fromBase64UrlEncoded } from 'lib0/buffer'
import { type Right, rightInDocs } from '../../shared/rights.ts'

/** The JWT's payload as JSON, or null when it is not a JWT this client can read. */
export function tokenPayload(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(fromBase64UrlEncoded(part)))
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : null
  } catch {
    return null // not a JWT this client can read: the server decides, and says so if it refuses it
  }
}

/** The token's `awarenessHz` claim (the most presence updates per second its sessions get), or null. */
export function awarenessClaimHz(token: string | undefined): number | null {
  const hz = token === undefined ? undefined : tokenPayload(token)?.awarenessHz
  return typeof hz === 'number' && hz > 0 ? hz : null
}

/**
 * What `token` lets its holder do on `doc`, by the server's rules (shared/rights.ts). No token
 * (an open server) and a token this client cannot read count as write: the server decides.
 */
export function tokenRight(token: string | undefined, doc: string): Right {
  if (token === undefined) return 'write'
  const docs = tokenPayload(token)?.docs
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) return 'write'
  return rightInDocs(docs as Record<string, unknown>, doc)
}

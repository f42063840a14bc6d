/**
 * Document names travel in URL paths (`ws://host/site/hq-tower`) and REST paths
 * (`/api/documents/site%2Fhq-tower`). One rule for both, checked before any work is done.
 */
export const MAX_DOC_NAME_LENGTH = 255

// Letters, digits and a few separators; `/` allowed inside (not leading/trailing, no `//`),
// no `.`/`..` segments, so names map safely onto paths, keys and Redis channels.
const SEGMENT = /^[A-Za-z0-9_\-.:@~]+$/

export type DocNameCheck = { ok: true; name: string } | { ok: false; error: string }

export function checkDocName(name: string): DocNameCheck {
  if (name.length === 0) return { ok: false, error: 'document name is empty' }
  if (name.length > MAX_DOC_NAME_LENGTH) return { ok: false, error: `document name is longer than ${MAX_DOC_NAME_LENGTH} characters` }
  for (const segment of name.split('/')) {
    if (segment.length === 0) return { ok: false, error: 'document name has an empty path segment' }
    if (segment === '.' || segment === '..') return { ok: false, error: 'document name has a "." or ".." segment' }
    if (!SEGMENT.test(segment)) return { ok: false, error: 'document name may only contain A-Z a-z 0-9 _ - . : @ ~ and /' }
  }
  return { ok: true, name }
}

/**
 * The document name of a WebSocket URL path: `/site/hq-tower` → `site/hq-tower`.
 * Percent-encoding is decoded (y-websocket clients send the name as given); a bad escape
 * is reported as an invalid name rather than thrown.
 */
export function docNameFromPath(path: string): DocNameCheck {
  let decoded: string
  try {
    decoded = decodeURIComponent(path.replace(/^\/+/, ''))
  } catch {
    return { ok: false, error: 'document name has an invalid percent-escape' }
  }
  return checkDocName(decoded)
}

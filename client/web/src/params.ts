/**
 * What the page was opened with: `/?doc=site/demo[&token=JWT][&name=Ada]`. A token from the
 * URL is kept in sessionStorage (per document), so a reload or a link without it still works.
 */
const TOKEN_KEY = 'atrium.token'

export interface PageParams {
  readonly doc: string
  readonly token: string | undefined
  readonly name: string | null
}

/** The query string's own word (no storage): the token is undefined when the URL has none. */
export function parseParams(search: string): PageParams {
  const params = new URLSearchParams(search)
  return { doc: params.get('doc') || 'site/demo', token: params.get('token') || undefined, name: params.get('name') }
}

export function readParams(search = location.search): PageParams {
  const params = parseParams(search)
  if (params.token) saveToken(params.token)
  return { ...params, token: params.token || sessionStorage.getItem(TOKEN_KEY) || undefined }
}

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

/** The wss:// or ws:// base URL of the server that served the page. */
export function serverUrl(): string {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host
}

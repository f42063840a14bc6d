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

export function readParams(search = location.search): PageParams {
  const params = new URLSearchParams(search)
  const doc = params.get('doc') || 'site/demo'
  const fromUrl = params.get('token')
  if (fromUrl) saveToken(fromUrl)
  const token = fromUrl || sessionStorage.getItem(TOKEN_KEY) || undefined
  return { doc, token, name: params.get('name') }
}

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

/** The wss:// or ws:// base URL of the server that served the page. */
export function serverUrl(): string {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host
}

/**
 * The browser editor's built files (client/web, `npm run build:web`), served on the same port as
 * the WebSocket and REST: the page at `/` and its assets under `/+/` (Vite's `base`). A `+` is not
 * a document-name character, so no asset path can shadow a document's WebSocket path.
 *
 * - Read once at start-up into memory (a few hundred KB): a request is a map lookup, so no
 *   path a client sends ever reaches the file system, and `..` or an encoded slash names
 *   nothing.
 * - Hashed assets are immutable (a year in caches); the page is revalidated each time (no-cache
 *   with an ETag), so a new build reaches browsers at once.
 * - Not built (no index.html): `/` says how to build it, with 503.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js'

export const ASSET_PREFIX = '/+/'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

interface StaticFile {
  readonly body: Buffer
  readonly type: string
  readonly etag: string
  readonly cache: string
}

/** Every file under `dir`, keyed by the URL path that serves it; null when there is no built page. */
export function loadWebFiles(dir: string): Map<string, StaticFile> | null {
  let index: Buffer
  try {
    index = readFileSync(join(dir, 'index.html'))
  } catch {
    return null
  }
  const files = new Map<string, StaticFile>()
  const add = (path: string, body: Buffer, cache: string, type = TYPES[extname(path)] ?? 'application/octet-stream') => {
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`
    files.set(path, { body, type, etag, cache })
  }
  add('/', index, 'no-cache', TYPES['.html'])
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const full = join(entry.parentPath, entry.name)
    const rel = relative(dir, full).split(sep).join('/')
    if (rel === 'index.html' || statSync(full).size > 16 * 1024 * 1024) continue
    // Vite names what it emits under assets/ by content hash: safe to cache for good.
    add(`${ASSET_PREFIX}${rel}`, readFileSync(full), rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
  }
  return files
}

/** The page talks only to its own origin (WebSocket included) and cannot be framed. */
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Atrium</title>
<p>The editor is not built. Run <code>npm run build:web</code> (npm start does it when needed), then reload.</p>`

/** Mounts `/` and `/+/*`. Requests with no matching file get 404 (assets) or the not-built page (503). */
export function mountStatic(app: TemplatedApp, files: Map<string, StaticFile> | null): void {
  const serve = (res: HttpResponse, req: HttpRequest) => {
    const path = req.getUrl()
    const file = files?.get(path)
    const ifNoneMatch = req.getHeader('if-none-match')
    res.cork(() => {
      if (!file) {
        if (path === '/')
          res.writeStatus('503 Service Unavailable').writeHeader('content-type', TYPES['.html']!).writeHeader('cache-control', 'no-cache').end(NOT_BUILT)
        else res.writeStatus('404 Not Found').writeHeader('content-type', TYPES['.txt']!).end('not found')
        return
      }
      // uWS writes the status line first: status, then headers, then the body.
      const fresh = ifNoneMatch === file.etag
      res.writeStatus(fresh ? '304 Not Modified' : '200 OK')
      res.writeHeader('etag', file.etag).writeHeader('cache-control', file.cache).writeHeader('x-content-type-options', 'nosniff')
      if (file.type.startsWith('text/html')) res.writeHeader('content-security-policy', CSP)
      if (fresh) return void res.end()
      res.writeHeader('content-type', file.type).end(file.body)
    })
  }
  app.get('/', serve)
  app.get(`${ASSET_PREFIX}*`, serve)
}

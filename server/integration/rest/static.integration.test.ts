/**
 * The editor's files on the WebSocket's port: the page and its assets with their types and
 * caching, 304s, nothing outside the build reachable however the path is written, a clear
 * page when nothing is built, and documents still served over WebSocket beside them.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { provider, synced } from '../../../load-tests/harness/clients.ts'
import { killAllServers, startServerProcess, tempDir } from '../../../load-tests/harness/server-process.ts'

afterAll(() => killAllServers())

/** A raw GET (fetch would normalise `..` away before sending it). */
function get(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the editor’s files', () => {
  it('serves the page and its assets with types and caching, and nothing outside the build', async () => {
    const web = await tempDir('atrium-web-')
    await mkdir(join(web, 'assets'))
    await writeFile(join(web, 'index.html'), '<!doctype html><script type="module" src="/+/assets/app-1a2b.js"></script>')
    await writeFile(join(web, 'assets/app-1a2b.js'), 'console.log("editor")')
    await writeFile(join(web, 'assets/app-1a2b.css'), 'body{}')
    const server = await startServerProcess({ WEB_DIR: web })

    const page = await get(server.httpUrl, '/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['cache-control']).toBe('no-cache')
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(page.body).toContain('/+/assets/app-1a2b.js')
    const again = await get(server.httpUrl, '/', { 'if-none-match': String(page.headers.etag) })
    expect(again.status).toBe(304)

    const js = await get(server.httpUrl, '/+/assets/app-1a2b.js')
    expect([js.status, js.headers['content-type'], js.headers['cache-control']]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
    ])
    expect((await get(server.httpUrl, '/+/assets/app-1a2b.css')).headers['content-type']).toBe('text/css; charset=utf-8')

    for (const path of [
      '/+/../package.json',
      '/+/%2e%2e/package.json',
      '/+/assets/../../server/main.ts',
      '/+/assets/%2F..%2F..%2Fpackage.json',
      '/+/index.html/..',
      '/+/assets/missing.js',
    ]) {
      const res = await get(server.httpUrl, path)
      expect([path, res.status]).toEqual([path, 404])
      expect(res.body).not.toContain('"name"')
    }
    // REST and documents are where they were.
    expect((await get(server.httpUrl, '/healthz')).status).toBe(200)
    const p = provider(server.wsUrl, 'site/beside-the-editor')
    await synced(p)
    p.destroy()
  })

  it('says how to build the editor when it is not built', async () => {
    const server = await startServerProcess({ WEB_DIR: join(await tempDir('atrium-noweb-'), 'missing') })
    const page = await get(server.httpUrl, '/')
    expect(page.status).toBe(503)
    expect(page.body).toContain('npm run build:web')
  })
})

/**
 * The SDK (and the XR client's index) are bundled for browsers: no Node-only import may reach
 * them, and no Node global may be touched when they load or connect. Bundling for the browser
 * platform fails on any `node:` builtin or Node-only package in the import graph; running the
 * bundle in a fresh V8 context that has a browser's globals and none of Node's (no `process`,
 * `Buffer`, `require`) catches a global use that a reading of the imports would miss.
 */
import { runInNewContext } from 'node:vm'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const bundle = async (entry: string, format: 'esm' | 'iife') => {
  const result = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname],
    bundle: true,
    platform: 'browser',
    format,
    globalName: 'bundle',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) }
}

/** What a browser page has (and Node-only names it lacks). */
function browserGlobals(): Record<string, unknown> {
  const g: Record<string, unknown> = {
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    TextEncoder,
    TextDecoder,
    URL,
    URLSearchParams,
  }
  Object.assign(g, { crypto: globalThis.crypto, performance: globalThis.performance, atob, btoa, location: { host: 'localhost:1234', search: '' } })
  g.window = g
  g.self = g
  return g
}

/** A socket that never opens: enough for a Site to be built and closed. */
class QuietSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  readonly readyState = 0
  binaryType = 'arraybuffer'
  onopen = null
  onclose = null
  onerror = null
  onmessage = null
  send(): void {}
  close(): void {}
}

describe('the SDK in a browser', () => {
  it('bundles for the browser platform with no Node builtin in its import graph', async () => {
    for (const entry of ['./index.ts', '../xr/index.ts']) {
      const { code, inputs } = await bundle(entry, 'esm')
      expect(inputs.filter((f) => f.startsWith('node:') || /node_modules\/(ws|undici)\//.test(f) || f.includes('/server/'))).toEqual([])
      expect(code).not.toMatch(/\brequire\(["']node:/)
    }
  })

  it('loads, connects and closes with a browser’s globals and none of Node’s', async () => {
    const { code } = await bundle('./index.ts', 'iife')
    const context = browserGlobals()
    runInNewContext(code, context)
    const sdk = context.bundle as typeof import('./index.ts')
    expect(typeof context.process).toBe('undefined')
    const site = sdk.connectSite({ urls: 'ws://localhost:1234', doc: 'site/browser', WebSocket: QuietSocket })
    site.presence.setUser({ name: 'Ada', color: '#3366ff' })
    expect(site.status.state).toBe('connecting')
    site.close()
    expect(site.status.state).toBe('closed')
  })
})

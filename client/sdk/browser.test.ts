/**
 * The SDK is bundled for browsers: no Node-only import may reach it. Bundling it for the
 * browser platform fails on any `node:` builtin or Node-only package in its import graph,
 * which a reading of the imports would miss three files deep.
 */
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

describe('the SDK in a browser', () => {
  it('bundles for the browser platform with no Node builtin in its import graph', async () => {
    const result = await build({
      entryPoints: [new URL('./index.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.some((f) => f.includes('client/sdk/site.ts'))).toBe(true)
    expect(inputs.filter((f) => f.startsWith('node:') || /node_modules\/(ws|undici)\//.test(f) || f.includes('/server/'))).toEqual([])
    expect(result.outputFiles[0]!.text).not.toMatch(/\brequire\(["']node:/)
  })
})

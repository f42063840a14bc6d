/** The docs CLI on real LMDB stores: round trip, move between stores, and its errors. */
import { readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LmdbStore } from '../../persistence/lmdb-store.ts'
import { tempDir } from '../../load-tests/harness/server-process.ts'
import { run, UsageError } from './docs.ts'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function docs(dataDir: string, ...argv: string[]): Promise<string[]> {
  const lines: string[] = []
  await run(argv, { DATA_DIR: dataDir }, (line) => lines.push(line))
  return lines
}

describe('npm run docs', () => {
  it('imports, reports, compacts and exports a document, and moves it to another store unchanged', async () => {
    const work = await tempDir()
    dirs.push(work)
    const [from, to] = [join(work, 'from'), join(work, 'to')]
    const source = new Y.Doc()
    for (let i = 0; i < 200; i++) source.getMap('objects').set(`o${i}`, { type: 'component', parentId: `z${i % 7}` })
    source.getText('notes').insert(0, 'hello')
    writeFileSync(join(work, 'a.yjs'), Y.encodeStateAsUpdate(source))
    source.getMap('objects').delete('o0')
    writeFileSync(join(work, 'b.yjs'), Y.encodeStateAsUpdate(source))

    await docs(from, 'import', 'site/a', join(work, 'a.yjs'))
    await docs(from, 'import', 'site/a', join(work, 'b.yjs'))
    const before = JSON.parse((await docs(from, 'stats', 'site/a')).join('\n'))
    expect(before).toMatchObject({ store: 'lmdb', logLength: 2, snapshotBytes: 0, types: { objects: 199, notes: 5 } })
    expect((await docs(from, 'compact', 'site/a'))[0]).toMatch(/compacted site\/a: 2 log entries/)
    const after = JSON.parse((await docs(from, 'stats', 'site/a')).join('\n'))
    expect(after).toMatchObject({ logLength: 0, types: { objects: 199, notes: 5 } })
    expect(after.snapshotBytes).toBeGreaterThan(0)

    await docs(from, 'export', 'site/a', join(work, 'out.yjs'))
    await docs(to, 'import', 'site/moved', join(work, 'out.yjs'))
    expect(await docs(to, 'list')).toEqual(['site/moved'])
    const store = new LmdbStore({ path: to, mapSize: 64 * 1024 ** 2 })
    const moved = new Y.Doc()
    for (const u of (await store.load('site/moved'))!.updates) Y.applyUpdate(moved, u)
    await store.close()
    expect(moved.getMap('objects').toJSON()).toEqual(source.getMap('objects').toJSON())
    expect(moved.getText('notes').toString()).toBe('hello')
    expect(readFileSync(join(work, 'out.yjs')).length).toBe(after.stateBytes)
  })

  it('refuses bad input with a clear error and changes nothing', async () => {
    const dataDir = await tempDir()
    dirs.push(dataDir)
    writeFileSync(join(dataDir, 'bad.yjs'), 'not a yjs update')
    await expect(docs(dataDir, 'import', 'site/x', join(dataDir, 'bad.yjs'))).rejects.toThrow(/is not a Yjs update.*nothing was imported/)
    expect(await docs(dataDir, 'list')).toEqual([])
    await expect(docs(dataDir, 'stats', 'site/none')).rejects.toThrow(/does not exist/)
    await expect(docs(dataDir, 'export', '../etc', 'x')).rejects.toBeInstanceOf(UsageError)
    await expect(docs(dataDir, 'frobnicate')).rejects.toThrow(/unknown command/)
    await expect(run(['list'], { DATA_DIR: dataDir, MONGODB_URL: 'http://nope' }, () => {})).rejects.toThrow(/MONGODB_URL/)
  })
})

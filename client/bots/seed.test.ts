/** The seed client against a real (validating) server: builds a site, and refuses to seed twice. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInProcess, type InProcessServer } from '../../server/testing/in-process.ts'
import type * as Y from 'yjs'
import { readObjects } from '../../shared/schema/document.ts'
import { resolveHierarchy } from '../../shared/schema/hierarchy.ts'
import { provider, synced } from '../../load-tests/harness/clients.ts'
import { seed } from './seed.ts'

describe('npm run seed', () => {
  let node: InProcessServer
  let url: string
  beforeAll(async () => {
    node = await startInProcess()
    url = node.url
  })
  afterAll(() => node.close())

  it('builds a schema-valid site through the server, then refuses a document that has objects', async () => {
    const lines: string[] = []
    await seed({ url, doc: 'site/seeded', objects: 3000, batch: 500, seed: 7 }, (l) => lines.push(l))
    expect(lines[0]).toMatch(/^seeded site\/seeded: 3000 objects/)
    const p = provider(url, 'site/seeded')
    await synced(p)
    const objects = readObjects(p.doc)
    expect(objects.size).toBe(3000)
    const h = resolveHierarchy(objects)
    expect(h.detached.size).toBe(0)
    expect(h.children.get(null)).toEqual(['b0'])
    expect(p.doc.getMap('anchors').size).toBeGreaterThanOrEqual(5)
    expect(p.doc.getMap<Y.Map<unknown>>('humans').get('h0')!.get('transcript')!.toString()).toMatch(/Hello/)
    p.destroy()
    await expect(seed({ url, doc: 'site/seeded', objects: 10, batch: 500, seed: 1 }, () => {})).rejects.toThrow(/already has 3000 objects/)
  })
})

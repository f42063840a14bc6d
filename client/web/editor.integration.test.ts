/**
 * The browser editor in a real Chromium (Debian's, through playwright-core) against a real
 * server process serving the built editor: two people on one building see each other's
 * drags, edits, presence and selection; a schema-invalid edit is refused in the panel and
 * nothing reaches the server; a server restart leaves edits pending and delivers them; a
 * read-only token disables editing while live changes still show. No timing is asserted.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { buildEditor, hasChromium, launchChromium } from '../../load-tests/harness/browser.ts'
import { provider, serverHas, synced } from '../../load-tests/harness/clients.ts'
import { freePort } from '../../load-tests/harness/redis.ts'
import { killAllServers, type ServerProcess, startServerProcess, tempDir } from '../../load-tests/harness/server-process.ts'
import { mintToken } from '../../server/auth/mint.ts'
import { objectsOf, readObject } from '../../shared/schema/document.ts'
import { generateSite } from '../../shared/schema/generate.ts'

const SECRET = 'editor-e2e-secret-of-32-characters-at-least'
let browser: Browser
const contexts: BrowserContext[] = []

/** A site of `objects` objects written by a Node client (the editor tests start from a building). */
async function seed(server: ServerProcess, doc: string, objects = 300, params?: Record<string, string>): Promise<void> {
  const p = provider(server.wsUrl, doc, new Y.Doc(), params)
  await synced(p)
  generateSite(p.doc, { objects, seed: 1 })
  await serverHas(server.wsUrl, doc, (d) => objectsOf(d).size === objects, 20_000, params)
  p.destroy()
}

async function open(server: ServerProcess, doc: string, name: string, token?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  contexts.push(context)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`))
  await page.goto(`${server.httpUrl}/?doc=${encodeURIComponent(doc)}&name=${name}${token ? `&token=${encodeURIComponent(token)}` : ''}`)
  await page.getByTestId('status').and(page.locator('[data-state="synced"]')).waitFor({ timeout: 20_000 })
  return page
}

/** The first component on the plan of the page's floor. */
async function firstComponent(page: Page): Promise<string> {
  const el = page.locator('[data-testid^="plan-obj-"][data-type="component"]').first()
  await el.waitFor()
  return (await el.getAttribute('data-testid'))!.slice('plan-obj-'.length)
}

async function drag(page: Page, testId: string, dx: number, dy: number): Promise<void> {
  const box = (await page.getByTestId(testId).boundingBox())!
  const x = box.x + box.width / 2
  const y = box.y + box.height / 2
  await page.mouse.move(x, y)
  await page.mouse.down()
  for (let i = 1; i <= 10; i++) await page.mouse.move(x + (dx * i) / 10, y + (dy * i) / 10)
  await page.mouse.up()
}

describe.runIf(hasChromium())('the editor in Chromium', () => {
  beforeAll(async () => {
    buildEditor()
    browser = await launchChromium()
  }, 120_000)
  afterAll(async () => {
    for (const c of contexts) await c.close()
    await browser?.close()
    killAllServers()
  })

  it('two people: a drag, a property edit, presence and selection reach the other', async () => {
    const server = await startServerProcess()
    await seed(server, 'site/e2e-two')
    const [ada, bob] = await Promise.all([open(server, 'site/e2e-two', 'Ada'), open(server, 'site/e2e-two', 'Bob')])
    const id = await firstComponent(ada)
    await bob.getByTestId(`plan-obj-${id}`).waitFor()
    await expect.poll(() => ada.locator('[data-testid^="avatar-"]').allTextContents()).toContainEqual(expect.stringContaining('Bob'))
    await expect.poll(() => bob.locator('[data-testid^="avatar-"]').allTextContents()).toContainEqual(expect.stringContaining('Ada'))

    await ada.getByTestId(`plan-obj-${id}`).click()
    await bob.locator(`[data-testid="plan-obj-${id}"].remote-selected[data-selected-by="Ada"]`).waitFor()

    const before = (await bob.getByTestId(`plan-obj-${id}`).boundingBox())!
    await drag(ada, `plan-obj-${id}`, 60, 40)
    await expect.poll(async () => (await bob.getByTestId(`plan-obj-${id}`).boundingBox())!.x, { timeout: 10_000 }).toBeGreaterThan(before.x + 20)
    await serverHas(server.wsUrl, 'site/e2e-two', (d) => (readObject(d, id)?.bbox as number[] | undefined)?.[0] !== undefined)

    await ada.getByTestId('field-name').fill('Renamed by Ada')
    await ada.getByTestId('field-name').press('Enter')
    await bob.getByTestId(`plan-obj-${id}`).click()
    await expect.poll(() => bob.getByTestId('field-name').inputValue(), { timeout: 10_000 }).toBe('Renamed by Ada')
    await serverHas(server.wsUrl, 'site/e2e-two', (d) => readObject(d, id)?.name === 'Renamed by Ada')
    // Bob's selection reaches Ada too.
    await ada.locator(`[data-testid="plan-obj-${id}"].remote-selected[data-selected-by="Bob"]`).waitFor()
  })

  it('fills an empty document with a demo site, and undoes only its own edit', async () => {
    const server = await startServerProcess()
    const ada = await open(server, 'site/e2e-undo', 'Ada')
    await ada.getByTestId('create-demo').click()
    await serverHas(server.wsUrl, 'site/e2e-undo', (d) => objectsOf(d).size === 300)
    const [bob, id] = await Promise.all([open(server, 'site/e2e-undo', 'Bob'), firstComponent(ada)])
    const original = readObject(await serverDoc(server, 'site/e2e-undo'), id)!.name
    await ada.getByTestId(`plan-obj-${id}`).click()
    await ada.getByTestId('field-name').fill('Ada was here')
    await ada.getByTestId('field-name').press('Enter')
    // Bob renames the building meanwhile: Ada's undo must not touch it.
    const building = (await bob.locator('[data-testid^="tree-item-"][data-type="building"]').first().getAttribute('data-testid'))!.slice('tree-item-'.length)
    await bob.getByTestId(`tree-item-${building}`).click()
    await bob.getByTestId('field-name').fill('Bob’s building')
    await bob.getByTestId('field-name').press('Enter')
    await serverHas(server.wsUrl, 'site/e2e-undo', (d) => readObject(d, id)?.name === 'Ada was here' && readObject(d, building)?.name === 'Bob’s building')
    await ada.getByTestId('undo').click()
    await serverHas(server.wsUrl, 'site/e2e-undo', (d) => readObject(d, id)?.name === original && readObject(d, building)?.name === 'Bob’s building')
    // The demo itself is not on the undo stack: one more undo has nothing to undo.
    expect(await ada.getByTestId('undo').isDisabled()).toBe(true)
  })

  it('refuses a schema-invalid edit in the panel with the rule, and sends nothing', async () => {
    const server = await startServerProcess()
    await seed(server, 'site/e2e-invalid')
    const ada = await open(server, 'site/e2e-invalid', 'Ada')
    const id = await firstComponent(ada)
    await ada.getByTestId(`plan-obj-${id}`).click()
    const bbox = readObject(await serverDoc(server, 'site/e2e-invalid'), id)?.bbox
    await ada.getByTestId('field-bbox').fill('[1, 2]')
    await ada.getByTestId('field-bbox').press('Enter')
    await expect.poll(() => ada.getByTestId('field-error-bbox').textContent()).toMatch(/\S/)
    await expect.poll(() => ada.getByTestId('status').getAttribute('data-state')).toBe('synced')
    expect(readObject(await serverDoc(server, 'site/e2e-invalid'), id)?.bbox).toEqual(bbox)
  })

  it('keeps edits made while the server is down pending, and both people converge when it returns', async () => {
    const port = await freePort()
    const dataDir = await tempDir()
    let server = await startServerProcess({ PORT: port }, dataDir)
    await seed(server, 'site/e2e-restart')
    const [ada, bob] = await Promise.all([open(server, 'site/e2e-restart', 'Ada'), open(server, 'site/e2e-restart', 'Bob')])
    const id = await firstComponent(ada)
    await server.kill('SIGTERM')
    await ada.getByTestId('status').and(ada.locator('[data-state="offline"]')).waitFor({ timeout: 20_000 })
    await ada.getByTestId(`plan-obj-${id}`).click()
    await ada.getByTestId('field-name').fill('Edited offline')
    await ada.getByTestId('field-name').press('Enter')
    await expect.poll(() => ada.getByTestId('status').textContent()).toMatch(/pending/i)
    server = await startServerProcess({ PORT: port }, dataDir)
    await ada.getByTestId('status').and(ada.locator('[data-state="synced"]')).waitFor({ timeout: 30_000 })
    await serverHas(server.wsUrl, 'site/e2e-restart', (d) => readObject(d, id)?.name === 'Edited offline')
    await bob.getByTestId('status').and(bob.locator('[data-state="synced"]')).waitFor({ timeout: 30_000 })
    await bob.getByTestId(`plan-obj-${id}`).click()
    await expect.poll(() => bob.getByTestId('field-name').inputValue()).toBe('Edited offline')
  })

  it('with a read-only token: editing is disabled, live changes still show', async () => {
    const server = await startServerProcess({ AUTH_SECRET: SECRET })
    const writer = await mintToken({ secret: SECRET, sub: 'writer', docs: { 'site/*': 'write' }, ttlS: 600 })
    const reader = await mintToken({ secret: SECRET, sub: 'reader', docs: { 'site/*': 'read' }, ttlS: 600 })
    await seed(server, 'site/e2e-read', 300, { token: writer })
    const page = await open(server, 'site/e2e-read', 'Reader', reader)
    await page.getByTestId('readonly').waitFor()
    const id = await firstComponent(page)
    await page.getByTestId(`plan-obj-${id}`).click()
    expect(await page.getByTestId('field-name').isDisabled()).toBe(true)
    // A writer elsewhere renames it: the read-only page shows it.
    const p = provider(server.wsUrl, 'site/e2e-read', new Y.Doc(), { token: writer })
    await synced(p)
    objectsOf(p.doc).get(id)!.set('name', 'Renamed live')
    await expect.poll(() => page.getByTestId('field-name').inputValue(), { timeout: 10_000 }).toBe('Renamed live')
    p.destroy()
  })
})

async function serverDoc(server: ServerProcess, doc: string): Promise<Y.Doc> {
  const p = provider(server.wsUrl, doc)
  await synced(p)
  p.destroy()
  return p.doc
}

/**
 * `npm run bench:editor`: the browser editor on a large building, in a real Chromium against
 * the compiled server (fresh process). Measures what the first person opening it meets:
 * - time to interactive: navigation start → the indicator says synced and the plan has drawn;
 * - the frame times of a 2-second drag of a component (requestAnimationFrame intervals in
 *   the page while the mouse moves every 16 ms), and how many objects the plan drew.
 *   npm run bench:editor [-- --objects 10000] [--screenshot file.png]
 * `--screenshot`: also saves the page after the drag, the dragged component selected (the README's picture).
 */
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { objectsOf } from '../../shared/schema/document.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { buildEditor, launchChromium } from '../harness/browser.ts'
import { provider, serverHas, synced } from '../harness/clients.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'

const { values } = parseArgs({ options: { objects: { type: 'string', default: '10000' }, screenshot: { type: 'string' } } })
const OBJECTS = Number(values.objects)
const DOC = 'site/bench-editor'

buildEditor()
const server = await startServerProcess({}, undefined, { built: true })
const browser = await launchChromium()
try {
  const seeder = provider(server.wsUrl, DOC, new Y.Doc())
  await synced(seeder)
  generateSite(seeder.doc, { objects: OBJECTS, seed: 1 })
  await serverHas(server.wsUrl, DOC, (d) => objectsOf(d).size === OBJECTS, 120_000)
  seeder.destroy()

  const page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage()
  await page.goto(`${server.httpUrl}/?doc=${encodeURIComponent(DOC)}&name=Bench`)
  await page.getByTestId('status').and(page.locator('[data-state="synced"]')).waitFor({ timeout: 120_000 })
  const component = page.locator('[data-testid^="plan-obj-"][data-type="component"]').first()
  await component.waitFor({ timeout: 60_000 })
  const interactiveMs = (await page.evaluate('performance.now()')) as number
  const drawn = await page.locator('[data-testid^="plan-obj-"]').count()

  // Frame intervals while dragging for 2 s. (Page code as strings: tsx would wrap a function in helpers the page lacks.)
  await page.evaluate(`(() => {
    window.frames_ = []
    window.stop_ = false
    let last = performance.now()
    const tick = (t) => {
      window.frames_.push(t - last)
      last = t
      if (!window.stop_) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })()`)
  const box = (await component.boundingBox())!
  let x = box.x + box.width / 2
  let y = box.y + box.height / 2
  await page.mouse.move(x, y)
  await page.mouse.down()
  const until = Date.now() + 2000
  for (let i = 0; Date.now() < until; i++) {
    x += Math.cos(i / 10) * 3
    y += Math.sin(i / 10) * 3
    await page.mouse.move(x, y)
    await new Promise((r) => setTimeout(r, 16))
  }
  await page.mouse.up()
  const frames = (await page.evaluate('(window.stop_ = true, window.frames_.slice(1))')) as number[]
  if (values.screenshot) {
    await page.getByTestId('panel').waitFor() // the dragged component is the selection
    await page.screenshot({ path: values.screenshot })
  }
  frames.sort((a, b) => a - b)
  const pct = (p: number) => frames[Math.min(frames.length - 1, Math.floor((p / 100) * frames.length))]!.toFixed(1)
  console.log(`editor, ${OBJECTS} objects (one building), Chromium headless, compiled server:`)
  console.log(`  time to interactive (navigation → synced and the plan drawn): ${interactiveMs.toFixed(0)} ms; plan elements drawn: ${drawn}`)
  console.log(`  2 s drag: ${frames.length} frames, frame time p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${frames.at(-1)!.toFixed(1)} ms`)
} finally {
  await browser.close()
  killAllServers()
}

// `npm start` runs this first: builds the browser editor (Vite) when the build is missing or
// older than any of its sources, so a fresh clone's `npm install && npm start` serves a working
// editor and an edit to the editor, the SDK or shared/ shows up on the next start. Skipped, with
// a note, where Vite is not installed (a production image builds the editor in its own step).
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const built = join(root, 'client/web/dist/index.html')
const sources = ['client/web', 'client/sdk', 'shared', 'package-lock.json'].map((p) => join(root, p))

/** The newest modification time under `path` (the build output and tests aside). */
function newest(path) {
  if (!existsSync(path)) return 0
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  let max = 0
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.includes('.test.')) continue
    max = Math.max(max, newest(join(path, e.name)))
  }
  return max
}

const vite = join(root, 'node_modules/.bin/vite')
const config = join(root, 'client/web/vite.config.ts')
if (!existsSync(config)) process.exit(0) // no editor in this checkout
const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0
if (builtAt >= Math.max(...sources.map(newest))) process.exit(0)
if (!existsSync(vite)) {
  console.error('the browser editor is not built and Vite is not installed: run `npm install`, then `npm run build:web`')
  process.exit(0)
}
console.error(builtAt ? 'the browser editor changed: building it…' : 'building the browser editor…')
execFileSync(vite, ['build', '--config', config, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' })

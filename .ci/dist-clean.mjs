// Builds the production tree (tsconfig.build.json) into a temporary directory and fails if
// any test, bench, test double or harness file is in it. tsc emits every file a production
// file imports, whatever `exclude` says, so this also catches production code that imports
// test code.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const out = mkdtempSync(join(tmpdir(), 'atrium-dist-'))
try {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'inherit' })
  const files = readdirSync(out, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(out, join(e.parentPath, e.name)))
  const banned = /(\.test\.|\.bench\.|(^|\/)(testing|bench|harness)\/)/
  const bad = files.filter((f) => banned.test(f))
  if (files.filter((f) => f.endsWith('.js')).length === 0) throw new Error('the build emitted no JavaScript')
  if (bad.length > 0) {
    console.error(`dist holds test or bench code (imported by production code?):\n  ${bad.join('\n  ')}`)
    process.exit(1)
  }
  console.log(`dist: ${files.length} files, no test or bench code`)
} finally {
  rmSync(out, { recursive: true, force: true })
}

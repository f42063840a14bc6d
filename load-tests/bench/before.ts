/**
 * An earlier commit of Atrium checked out beside this one (a git worktree in the temp
 * directory, sharing this checkout's node_modules), so a bench can run it and this code in
 * one run: the machine is shared and its speed drifts, so only figures of one run compare.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

/** The worktree of `ref` (made on first use) and its entry points. */
export function checkoutBefore(ref: string, options: { built?: boolean } = {}): { dir: string; main: string; builtMain: string; cli: string } {
  // Named by commit, not by ref: `HEAD~1` means another commit tomorrow.
  const sha = execFileSync('git', ['rev-parse', '--short=12', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim()
  const dir = join(tmpdir(), `atrium-before-${sha}`)
  if (!existsSync(join(dir, 'server/main.ts'))) {
    execFileSync('git', ['worktree', 'add', '--force', '--detach', dir, sha], { cwd: ROOT, stdio: 'ignore' })
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  }
  const builtMain = join(dir, 'dist/server/main.js')
  if (options.built && !existsSync(builtMain)) execFileSync('npm', ['run', '-s', 'build'], { cwd: dir, stdio: 'inherit' })
  return { dir, main: join(dir, 'server/main.ts'), builtMain, cli: join(dir, 'server/cli/docs.ts') }
}

/**
 * A real Chromium for the editor's tests and benchmarks: Debian's `chromium` driven by
 * playwright-core (which never downloads a browser). `CHROMIUM_PATH` overrides where it is.
 * The editor is built first when its sources changed (the same script `npm start` runs).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'

const BUILD_IF_STALE = fileURLToPath(new URL('../../client/web/build-if-stale.mjs', import.meta.url))

export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Whether a Chromium is installed where the tests look (`.ci/run` installs Debian's). */
export const hasChromium = (): boolean => existsSync(chromiumPath())

/** Builds client/web when it is missing or older than its sources. */
export function buildEditor(): void {
  execFileSync(process.execPath, [BUILD_IF_STALE], { stdio: 'inherit' })
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

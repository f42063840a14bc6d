/** The one import of uWebSockets.js, and the check that its native binding (not the fallback) loaded. */
import uWS from 'uWebSockets.js'

export { uWS }

/**
 * The uWS package silently falls back to a JavaScript implementation when its native
 * binary does not load; HTTP then works but WebSockets never open. Refuse to run on it.
 */
export function assertNativeUws(): void {
  if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
    throw new Error(
      'uWebSockets.js native binding is not active (JavaScript fallback loaded): WebSockets would never open. ' +
        'Use Node 20 on glibc >= 2.36 with the package version pinned in package.json, and unset UWS_USE_FALLBACK.',
    )
  }
}

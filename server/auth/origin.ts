/**
 * The Origin allowlist of WebSocket upgrades. Browsers send an Origin on every WebSocket and let
 * any page open one to any address, with the user's network position (an intranet, localhost):
 * so a page is allowed only if ALLOWED_ORIGINS lists it, or, when it is unset, if it was served
 * from the host the socket goes to. Clients that send no Origin (Node, bots, headsets) are not
 * browsers and are not affected; their token decides.
 */
export type OriginCheck = (origin: string, host: string) => boolean

export function originCheck(allowed: string | undefined): OriginCheck {
  if (allowed === '*') return () => true
  if (allowed) {
    const set = new Set(allowed.split(',').map((o) => o.toLowerCase()))
    return (origin) => origin === '' || set.has(origin.toLowerCase())
  }
  return (origin, host) => {
    if (origin === '') return true
    try {
      return new URL(origin).host.toLowerCase() === host.toLowerCase()
    } catch {
      return false // "null" (sandboxed frames, file://) and garbage
    }
  }
}

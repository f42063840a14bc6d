/**
 * What a client may read from its own token without verifying it (the server verifies):
 * the claims that change what the server will grant, so the client can know it in advance.
 */

/** The token's `awarenessHz` claim (the most presence updates per second its sessions get), or null. */
export function awarenessClaimHz(token: string | undefined): number | null {
  const payload = token?.split('.')[1]
  if (!payload) return null
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { awarenessHz?: unknown }
    return typeof json.awarenessHz === 'number' && json.awarenessHz > 0 ? json.awarenessHz : null
  } catch {
    return null // not a JWT this client can read: the server decides, and says so if it refuses it
  }
}

/**
 * What the SDK throws and rejects with. Code branches on the class and its fields (a close
 * code, a URL), never on message text (shared/errors.ts).
 */
import { AtriumError } from '../../shared/errors.ts'
import { describeCloseCode, type CloseCodeName } from '../../shared/protocol/close-codes.ts'

/**
 * The server refused this client for a reason reconnecting cannot fix (no right to the
 * document, a schema violation, a malformed message, an expired token with no way to get
 * another): the site stops reconnecting and says why.
 */
export class SiteRefused extends AtriumError {
  override readonly name = 'SiteRefused'
  /** The close code's name in shared/protocol/close-codes.ts (e.g. 'FORBIDDEN'), or null for a code Atrium does not send. */
  readonly codeName: CloseCodeName | null
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly url: string,
  ) {
    const known = describeCloseCode(code)
    super(`${url} refused the connection: ${code} ${reason || known?.reason || '(no reason given)'}`)
    this.codeName = (known?.name as CloseCodeName | undefined) ?? null
  }
}

/** The options of connectSite are unusable (no URL, a bad document name, no WebSocket in this runtime). */
export class InvalidSiteOptions extends AtriumError {
  override readonly name = 'InvalidSiteOptions'
}

/** A wait (whenSynced, whenConfirmed) ran past its timeout. */
export class SiteTimeout extends AtriumError {
  override readonly name = 'SiteTimeout'
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: not within ${ms} ms`)
  }
}

/** The site was closed while something waited on it. */
export class SiteClosed extends AtriumError {
  override readonly name = 'SiteClosed'
  constructor(readonly what: string) {
    super(`${what}: the site was closed`)
  }
}

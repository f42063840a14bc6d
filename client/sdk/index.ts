/**
 * The Atrium client SDK: `connectSite` and what it returns. Browser-safe; in Node 20 pass
 * `WebSocket` from the `ws` package.
 */
export { connectSite, Site, type ConnectSiteOptions } from './site.ts'
export type { SiteState, SiteStatus } from './connection.ts'
export { InvalidSiteOptions, SiteClosed, SiteRefused, SiteTimeout } from './errors.ts'
export { SchemaError } from '../../shared/schema/document.ts'
export type { Right } from '../../shared/rights.ts'
export { tokenRight } from './token.ts'

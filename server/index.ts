/**
 * Atrium as a library: `createAtrium` starts a server in this process with the same validated
 * configuration as the CLI (server/main.ts is a thin wrapper around it), plus hooks.
 */
export { createAtrium, type Atrium, type AtriumHooks, type AtriumOptions } from './atrium.ts'
export type { Right } from '../shared/rights.ts'
export { identityOf, type Identity } from './auth/claims.ts'
export type { AuthenticateHook, AuthRequest } from './auth/verifier.ts'
export { configWith, parseConfig, type Config } from './config.ts'
export { createLogger, type Logger } from './log.ts'

/**
 * Imported first by main.ts: zod compiles its object parsers with `new Function` when it may,
 * and probing for that breaks the page's Content-Security-Policy (script-src 'self'), which
 * logs a violation. Validation works the same without it.
 */
import { config } from 'zod'

config({ jitless: true })

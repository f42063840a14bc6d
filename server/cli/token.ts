/**
 * `npm run token -- --sub ada --doc 'site/*=write' [--doc 'site/hq=read'] [--ttl 1h] [--admin]
 *   [--no-viewer-awareness] [--jti ID]`: prints a token signed with AUTH_SECRET (HS256), with
 * AUTH_ISSUER / AUTH_AUDIENCE when they are set, as the server checks them.
 */
import { parseArgs } from 'node:util'
import { mintToken, parseDocRight, parseTtl } from '../auth/mint.ts'
import { ConfigError, parseConfig } from '../config.ts'

const USAGE = "usage: npm run token -- --sub NAME --doc 'PATTERN=read|write|none' [--doc …] [--ttl 1h] [--admin] [--no-viewer-awareness] [--jti ID]"

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

try {
  const config = parseConfig(process.env)
  if (!config.AUTH_SECRET) fail('AUTH_SECRET is not set: tokens are signed with it')
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      doc: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '1h' },
      admin: { type: 'boolean', default: false },
      'no-viewer-awareness': { type: 'boolean', default: false },
      jti: { type: 'string' },
    },
    strict: true,
  })
  if (!values.sub) fail('missing --sub')
  const ttlS = parseTtl(values.ttl!)
  if (ttlS === null) fail(`--ttl ${values.ttl}: use a number and s, m, h or d (e.g. 15m, 1h)`)
  const docs: Record<string, 'none' | 'read' | 'write'> = {}
  for (const text of values.doc ?? []) {
    const parsed = parseDocRight(text)
    if (!parsed) fail(`--doc ${text}: use PATTERN=read, PATTERN=write or PATTERN=none`)
    docs[parsed[0]] = parsed[1]
  }
  const token = await mintToken({
    secret: config.AUTH_SECRET,
    sub: values.sub,
    docs,
    ttlS,
    admin: values.admin,
    viewerAwareness: !values['no-viewer-awareness'],
    ...(values.jti ? { jti: values.jti } : {}),
    ...(config.AUTH_ISSUER ? { issuer: config.AUTH_ISSUER } : {}),
    ...(config.AUTH_AUDIENCE ? { audience: config.AUTH_AUDIENCE } : {}),
  })
  process.stdout.write(`${token}\n`)
} catch (err) {
  if (err instanceof ConfigError) fail(err.message)
  if (err instanceof TypeError && 'code' in err) fail(err.message) // parseArgs: unknown or malformed option
  throw err
}

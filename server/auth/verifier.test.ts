/**
 * The token matrix against the real jose: what a verifier accepts and why it refuses the rest.
 * The JWKS mode fetches its keys from a real HTTP server on loopback.
 */
import { createServer, type Server } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configWith } from '../config.ts'
import { mintToken } from './mint.ts'
import { AuthError, authStartupProblem, createAuthenticator, tokenOf } from './verifier.ts'

const SECRET = 'a-secret-of-at-least-32-characters!!'
const now = () => Math.floor(Date.now() / 1000)
const docs = { 'site/*': 'write' } as const

/** A request carrying `token` only. */
const verify = (auth: ReturnType<typeof createAuthenticator>, token: string | null) => auth.verify({ token, cookie: '', remote: '127.0.0.1' })

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof AuthError) return err.failure
    throw err
  }
  return 'accepted'
}

describe('HS256 with AUTH_SECRET', () => {
  const auth = createAuthenticator(configWith({ AUTH_SECRET: SECRET, AUTH_ISSUER: 'atrium-test', AUTH_AUDIENCE: 'editors' }))
  const mint = (o: Partial<Parameters<typeof mintToken>[0]> = {}) =>
    mintToken({ secret: SECRET, sub: 'ada', docs, ttlS: 60, issuer: 'atrium-test', audience: 'editors', ...o })

  it('accepts a good token and reads its rights', async () => {
    const id = await verify(auth, await mint())
    expect(id.sub).toBe('ada')
    expect(id.rightTo('site/hq')).toBe('write')
    expect(id.exp).toBeGreaterThan(now())
  })

  it('refuses: no token, garbage, a bad signature, expired, wrong issuer or audience', async () => {
    expect(await failure(verify(auth, null))).toBe('missing')
    expect(await failure(verify(auth, 'not.a.jwt'))).toBe('invalid')
    expect(await failure(verify(auth, await mint({ secret: 'another-secret-of-32-characters-or-more' })))).toBe('invalid')
    expect(await failure(verify(auth, await mint({ now: now() - 3600 })))).toBe('expired')
    expect(await failure(verify(auth, await mint({ issuer: 'someone-else' })))).toBe('invalid')
    expect(await failure(verify(auth, await mint({ audience: 'admins' })))).toBe('invalid')
    expect(await failure(verify(auth, 'x'.repeat(20_000)))).toBe('invalid')
  })

  it('refuses a token not valid yet (nbf past the clock skew)', async () => {
    const early = await new SignJWT({ docs })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada')
      .setIssuer('atrium-test')
      .setAudience('editors')
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 3600)
      .sign(new TextEncoder().encode(SECRET))
    expect(await failure(verify(auth, early))).toBe('invalid')
  })

  it('refuses alg none, and a token signed with another algorithm (HS384)', async () => {
    const unsigned = new UnsecuredJWT({ docs }).setSubject('ada').setIssuer('atrium-test').setAudience('editors').setExpirationTime('1h').encode()
    expect(await failure(verify(auth, unsigned))).toBe('invalid')
    const hs384 = await new SignJWT({ docs })
      .setProtectedHeader({ alg: 'HS384' })
      .setSubject('ada')
      .setIssuer('atrium-test')
      .setAudience('editors')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET))
    expect(await failure(verify(auth, hs384))).toBe('invalid')
  })

  it('refuses well-signed claims that are malformed (no docs)', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('atrium-test')
      .setAudience('editors')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET))
    expect(await failure(verify(auth, token))).toBe('invalid')
  })
})

describe('RS256 with AUTH_JWKS_URL', () => {
  let server: Server
  let url: string
  let keys: Awaited<ReturnType<typeof generateKeyPair>>
  beforeAll(async () => {
    keys = await generateKeyPair('RS256')
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`
  })
  afterAll(() => server.close())

  it('accepts a token signed by a key of the set, and refuses HS256 signed with the public key (HS/RS confusion)', async () => {
    const auth = createAuthenticator(configWith({ AUTH_JWKS_URL: url }))
    const good = await new SignJWT({ docs }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('ada').setExpirationTime('1h').sign(keys.privateKey)
    expect((await verify(auth, good)).rightTo('site/hq')).toBe('write')
    const pem = new TextEncoder().encode(JSON.stringify(await exportJWK(keys.publicKey)))
    const confused = await new SignJWT({ docs }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('ada').setExpirationTime('1h').sign(pem)
    expect(await failure(verify(auth, confused))).toBe('invalid')
  })

  it('refuses everything as unavailable (retry later), not invalid, while the key set cannot be fetched', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as { port: number }).port
    await new Promise((r) => closed.close(r)) // nothing listens there now
    const auth = createAuthenticator(configWith({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` }))
    const token = await new SignJWT({ docs }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('1h').sign(keys.privateKey)
    expect(await failure(verify(auth, token))).toBe('unavailable')
  })
})

describe('secure by default', () => {
  it('runs open only on loopback or with AUTH=none, and says what to set otherwise', () => {
    expect(authStartupProblem(configWith({}))).toBeNull() // HOST defaults to 127.0.0.1
    expect(authStartupProblem(configWith({ HOST: '0.0.0.0' }))).toMatch(/AUTH_SECRET.*AUTH_JWKS_URL.*AUTH=none/)
    expect(authStartupProblem(configWith({ HOST: '0.0.0.0', AUTH: 'none' }))).toBeNull()
    expect(authStartupProblem(configWith({ HOST: '0.0.0.0', AUTH_SECRET: SECRET }))).toBeNull()
    expect(createAuthenticator(configWith({})).open).toBe(true)
  })

  it('refuses a short secret, a secret with a JWKS URL, and AUTH=jwt with neither', () => {
    expect(() => configWith({ AUTH_SECRET: 'short' })).toThrow(/AUTH_SECRET is \(5 characters\): must be at least 32/)
    expect(() => configWith({ AUTH_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.example/jwks' })).toThrow(/set one of them/)
    expect(() => configWith({ AUTH: 'jwt' })).toThrow(/AUTH is jwt without/)
  })

  it('takes the token from Authorization: Bearer, else from ?token=', () => {
    expect(tokenOf(new URLSearchParams('token=q'), 'Bearer h')).toBe('h')
    expect(tokenOf(new URLSearchParams('token=q'), '')).toBe('q')
    expect(tokenOf(new URLSearchParams(''), 'Basic abc')).toBeNull()
  })
})

import { describe, expect, it } from 'vitest'
import { compilePattern } from '../../shared/rights.ts'
import { identityOf } from './claims.ts'

const who = (docs: Record<string, string>, extra: Record<string, unknown> = {}) => identityOf({ sub: 'ada', docs, ...extra })

describe('document patterns', () => {
  it('`*` stays within a segment, `**` crosses them, everything else is literal', () => {
    expect(compilePattern('site/*').re.test('site/hq')).toBe(true)
    expect(compilePattern('site/*').re.test('site/hq/annex')).toBe(false)
    expect(compilePattern('site/**').re.test('site/hq/annex')).toBe(true)
    expect(compilePattern('site/h?').re.test('site/hq')).toBe(false) // `?` is a literal
    expect(compilePattern('a.b').re.test('axb')).toBe(false)
    expect(compilePattern('site/*').literal).toBe(5)
  })

  it('the most specific matching pattern wins, in either order', () => {
    const a = who({ 'site/*': 'read', 'site/hq': 'write' })
    const b = who({ 'site/hq': 'write', 'site/*': 'read' })
    for (const id of [a, b]) {
      expect(id.rightTo('site/hq')).toBe('write')
      expect(id.rightTo('site/annex')).toBe('read')
      expect(id.rightTo('other/hq')).toBe('none')
    }
  })

  it('a narrowing entry carves a name out of a broader right', () => {
    const id = who({ '**': 'write', 'site/secret': 'none', 'site/lobby*': 'read' })
    expect(id.rightTo('site/secret')).toBe('none')
    expect(id.rightTo('site/lobby-2')).toBe('read')
    expect(id.rightTo('doc/x')).toBe('write')
  })

  it('on equally specific patterns the weaker right wins', () => {
    expect(who({ 'site/*x': 'write', 'site/x*': 'read' }).rightTo('site/xx')).toBe('read')
  })

  it('reads the optional claims, with read-only presence on by default', () => {
    expect(who({}).viewerAwareness).toBe(true)
    expect(who({}, { viewerAwareness: false }).viewerAwareness).toBe(false)
    expect(who({}).admin).toBe(false)
    expect(who({}, { admin: true, jti: 'j1', exp: 123 })).toMatchObject({ admin: true, jti: 'j1', exp: 123, sub: 'ada' })
  })

  it('refuses malformed claims: no docs, an unknown right, too many patterns', () => {
    expect(() => identityOf({ sub: 'ada' })).toThrow()
    expect(() => who({ 'site/*': 'own' })).toThrow()
    expect(() => who(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`d${i}`, 'read'])))).toThrow()
  })
})

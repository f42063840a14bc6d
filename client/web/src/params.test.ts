import { describe, expect, it } from 'vitest'
import { parseParams } from './params.ts'

describe('parseParams', () => {
  it('doc, token and name from the query string', () => {
    expect(parseParams('?doc=site/a&token=abc.def.ghi&name=Ada')).toEqual({ doc: 'site/a', token: 'abc.def.ghi', name: 'Ada' })
  })

  it('defaults: the demo document, no token, no name', () => {
    expect(parseParams('')).toEqual({ doc: 'site/demo', token: undefined, name: null })
    expect(parseParams('?doc=&token=')).toEqual({ doc: 'site/demo', token: undefined, name: null })
  })

  it('decodes what the URL encodes, and keeps hostile text as text (connectSite checks the doc name)', () => {
    expect(parseParams('?name=Ada%20%3Cb%3E&doc=site%2F%22x%22')).toEqual({ doc: 'site/"x"', token: undefined, name: 'Ada <b>' })
    expect(parseParams('doc=site/b').doc).toBe('site/b')
  })
})

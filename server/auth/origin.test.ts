import { describe, expect, it } from 'vitest'
import { originCheck } from './origin.ts'

describe('the Origin allowlist', () => {
  it('by default lets in clients without an Origin and pages of the same host only', () => {
    const ok = originCheck(undefined)
    expect(ok('', 'atrium.local:1234')).toBe(true)
    expect(ok('http://atrium.local:1234', 'atrium.local:1234')).toBe(true)
    expect(ok('https://evil.example', 'atrium.local:1234')).toBe(false)
    expect(ok('http://atrium.local:9999', 'atrium.local:1234')).toBe(false)
    expect(ok('null', 'atrium.local:1234')).toBe(false)
  })
  it('with a list, exactly the listed origins (case-insensitive); * lets everyone in', () => {
    const ok = originCheck('https://app.example.com,http://localhost:5173')
    expect(ok('https://APP.example.com', 'x')).toBe(true)
    expect(ok('http://localhost:5173', 'x')).toBe(true)
    expect(ok('https://app.example.com.evil', 'x')).toBe(false)
    expect(ok('', 'x')).toBe(true)
    expect(originCheck('*')('https://anything', 'x')).toBe(true)
  })
})

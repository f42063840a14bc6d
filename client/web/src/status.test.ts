import { describe, expect, it } from 'vitest'
import { SiteRefused } from '../../sdk/errors.ts'
import type { SiteStatus } from '../../sdk/index.ts'
import { describeStatus } from './status.ts'

const status = (patch: Partial<SiteStatus>): SiteStatus => ({ state: 'connecting', url: 'ws://a', pendingChanges: 0, error: null, attempt: 0, ...patch })

describe('describeStatus', () => {
  it('first connect: syncing, with pending changes counted', () => {
    expect(describeStatus(status({}))).toEqual({ state: 'syncing', text: 'Syncing…' })
    expect(describeStatus(status({ pendingChanges: 1 }))).toEqual({ state: 'syncing', text: 'Syncing… 1 pending change' })
  })

  it('a retry after a failure stays offline (no flicker to syncing)', () => {
    expect(describeStatus(status({ attempt: 2, pendingChanges: 3 }))).toEqual({ state: 'offline', text: 'Offline — 3 pending changes' })
  })

  it('synced: "Synced", or syncing while changes are unconfirmed', () => {
    expect(describeStatus(status({ state: 'synced' }))).toEqual({ state: 'synced', text: 'Synced' })
    expect(describeStatus(status({ state: 'synced', pendingChanges: 2 }))).toEqual({ state: 'syncing', text: 'Syncing… 2 pending changes' })
  })

  it('offline and closed: offline, with the pending count', () => {
    expect(describeStatus(status({ state: 'offline' }))).toEqual({ state: 'offline', text: 'Offline' })
    expect(describeStatus(status({ state: 'offline', pendingChanges: 1 }))).toEqual({ state: 'offline', text: 'Offline — 1 pending change' })
    expect(describeStatus(status({ state: 'closed', pendingChanges: 4 })).state).toBe('offline')
  })

  it('refused: the server’s reason, else the code’s name, else the code', () => {
    const refused = (code: number, reason: string) => status({ state: 'refused', error: new SiteRefused(code, reason, 'ws://a') })
    expect(describeStatus(refused(4403, 'no write right on site/demo'))).toEqual({ state: 'refused', text: 'Refused: no write right on site/demo' })
    const named = new SiteRefused(4401, '', 'ws://a')
    expect(describeStatus(status({ state: 'refused', error: named })).text).toBe(`Refused: ${named.codeName}`)
    expect(describeStatus(refused(4999, '')).text).toBe('Refused: 4999')
    expect(describeStatus(status({ state: 'refused' }))).toEqual({ state: 'refused', text: 'Refused: unknown' })
  })

  it('a hostile reason is plain text in the line (the indicator sets textContent)', () => {
    const reason = '<img src=x onerror=alert(1)>'
    expect(describeStatus(status({ state: 'refused', error: new SiteRefused(4403, reason, 'ws://a') })).text).toBe(`Refused: ${reason}`)
  })
})

/**
 * The connection indicator: `data-state` synced | syncing | offline | refused, and a line
 * people can read ("Offline — 3 pending changes", "Refused: <reason>").
 */
import type { SiteStatus } from '../../sdk/index.ts'
import { h } from './dom.ts'

export type Indicator = 'synced' | 'syncing' | 'offline' | 'refused'

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`

export function describeStatus(s: SiteStatus): { state: Indicator; text: string } {
  switch (s.state) {
    case 'synced':
      return s.pendingChanges > 0 ? { state: 'syncing', text: `Syncing… ${plural(s.pendingChanges, 'pending change')}` } : { state: 'synced', text: 'Synced' }
    case 'connecting':
      // A retry after a failure is still offline until it syncs (else the indicator flickers with every attempt).
      if (s.attempt > 0) return offline(s)
      return { state: 'syncing', text: s.pendingChanges > 0 ? `Syncing… ${plural(s.pendingChanges, 'pending change')}` : 'Syncing…' }
    case 'refused': {
      const reason = s.error?.reason || s.error?.codeName || (s.error ? String(s.error.code) : 'unknown')
      return { state: 'refused', text: `Refused: ${reason}` }
    }
    default:
      return offline(s)
  }
}

const offline = (s: SiteStatus): { state: Indicator; text: string } => ({
  state: 'offline',
  text: s.pendingChanges > 0 ? `Offline — ${plural(s.pendingChanges, 'pending change')}` : 'Offline',
})

export function statusIndicator(): { el: HTMLElement; show(s: SiteStatus): void } {
  const el = h('span', { class: 'status', 'data-testid': 'status', 'data-state': 'syncing', role: 'status' }, 'Syncing…')
  return {
    el,
    show(s) {
      const { state, text } = describeStatus(s)
      el.dataset.state = state
      el.textContent = text
      el.title = s.url
    },
  }
}

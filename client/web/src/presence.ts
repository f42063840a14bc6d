/**
 * Who is here: this user's presence (name from `?name=` or a generated one, a colour), the
 * selection kept in step with the editor's, and the avatars of the other clients. The plan
 * draws others' selections and cursors (plan/overlays.ts).
 */
import type { Peer } from '../../sdk/presence.ts'
import type { Editor } from './context.ts'
import { frameScheduler, h } from './dom.ts'

const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#469990', '#9a6324', '#800000']
const NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Radia', 'Donald', 'Frances', 'Tim']

const GREY = '#888888'
const NAME_CHARS = 100

/**
 * A peer's name and colour, or stand-ins for a client that set none (a bot, a headset). The
 * colour goes into a `style` attribute: anything but #rrggbb is replaced here too, whatever
 * the SDK let through, so `red;background:url(…)` can never add a declaration.
 */
export function peerLabel(peer: Peer): { name: string; color: string } {
  const user = peer.user
  if (!user) return { name: `client ${peer.clientId}`, color: GREY }
  const name = typeof user.name === 'string' && user.name.length > 0 ? user.name.slice(0, NAME_CHARS) : `client ${peer.clientId}`
  return { name, color: typeof user.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(user.color) ? user.color : GREY }
}

export function startPresence(editor: Editor, name: string | null): { name: string; color: string } {
  const { site, store } = editor
  const me = {
    name: (name ?? '').trim().slice(0, 100) || `${NAMES[Math.floor(Math.random() * NAMES.length)]} ${Math.floor(Math.random() * 90 + 10)}`,
    color: COLORS[site.presence.clientId % COLORS.length]!,
  }
  site.presence.setUser(me)
  site.presence.setSelection([])
  store.subscribe((state, before) => {
    if (state.selected !== before.selected) site.presence.setSelection(state.selected ? [state.selected] : [])
  })
  return me
}

export function avatars(editor: Editor, me: { name: string; color: string }): HTMLElement {
  const { site } = editor
  const list = h('span', { class: 'avatars', 'data-testid': 'avatars' })
  const self = h(
    'span',
    { class: 'avatar me', 'data-testid': 'me', title: `${me.name} (you)`, style: `--c: ${me.color}` },
    ...chip(`${me.name} (you)`, me.name),
  )
  const render = () => {
    list.replaceChildren(
      ...site.presence.others().map((peer) => {
        const { name, color } = peerLabel(peer)
        return h('span', { class: 'avatar', 'data-testid': `avatar-${peer.clientId}`, title: name, 'data-name': name, style: `--c: ${color}` }, ...chip(name))
      }),
    )
  }
  site.presence.onChange(frameScheduler(render))
  render()
  return h('span', { class: 'people' }, list, self)
}

const chip = (label: string, name = label) => [h('span', { class: 'dot' }, initials(name)), h('span', { class: 'label' }, label)]

const initials = (name: string) =>
  name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase()

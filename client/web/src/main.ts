/**
 * The browser editor's entry point: reads the page's parameters, connects the Site, and
 * lays out the views (header with indicator and avatars, tree left, plan centre, panel and
 * digital humans right). Each view is its own module and talks to the others only through
 * the Site (the document) and the Store (selection, floor).
 */
import './zod-config.ts'
import { connectSite, type Site, tokenRight } from '../../sdk/index.ts'
import type { Editor } from './context.ts'
import { createDemoOffer } from './demo.ts'
import { h } from './dom.ts'
import { humansView } from './humans.ts'
import { propertyPanel } from './panel/panel.ts'
import { readParams, serverUrl } from './params.ts'
import { planView } from './plan/plan.ts'
import { avatars, startPresence } from './presence.ts'
import { signInDialog } from './signin.ts'
import { Store } from './state.ts'
import { statusIndicator } from './status.ts'
import { treeView } from './tree.ts'
import { undoButtons, undoManagerFor } from './undo.ts'

function start(app: HTMLElement): void {
  const params = readParams()
  let site: Site
  try {
    site = connectSite({ urls: serverUrl(), doc: params.doc, token: params.token })
  } catch (error) {
    app.replaceChildren(h('p', { class: 'fatal', 'data-testid': 'fatal' }, error instanceof Error ? error.message : String(error)))
    return
  }
  const readOnly = tokenRight(params.token, params.doc) === 'read'
  const notice = h('span', { class: 'notice', 'data-testid': 'notice', role: 'alert' })
  let noticeTimer: ReturnType<typeof setTimeout> | undefined
  const editor: Editor = {
    site,
    store: new Store(),
    readOnly,
    undo: undoManagerFor(site),
    notify(message) {
      notice.textContent = message
      clearTimeout(noticeTimer)
      noticeTimer = setTimeout(() => (notice.textContent = ''), 6000)
    },
  }
  const status = statusIndicator()
  const dialog = signInDialog(params.token)
  const signIn = h('button', { 'data-testid': 'signin-open' }, params.token ? 'Token…' : 'Sign in')
  signIn.addEventListener('click', () => dialog.showModal())
  site.onStatus((s) => {
    status.show(s)
    // No token, or one the server will not take: ask for one.
    if (s.state === 'refused' && (s.error?.code === 4401 || s.error?.code === 4540) && !dialog.open) dialog.showModal()
  })
  status.show(site.status)
  const me = startPresence(editor, params.name)

  document.body.classList.toggle('readonly', readOnly)
  const header = h(
    'header',
    {},
    h('strong', { class: 'brand' }, 'Atrium'),
    h('span', { class: 'doc', 'data-testid': 'doc-name' }, params.doc),
    status.el,
    readOnly && h('span', { class: 'badge', 'data-testid': 'readonly', title: 'Your token grants read only on this document' }, 'Read only'),
    notice,
    h('span', { class: 'spacer' }),
    undoButtons(editor.undo, readOnly),
    avatars(editor, me),
    signIn,
  )
  app.replaceChildren(
    header,
    h('aside', { class: 'left' }, treeView(editor)),
    h('main', {}, planView(editor), createDemoOffer(editor)),
    h('aside', { class: 'right' }, propertyPanel(editor), humansView(editor)),
    dialog,
  )
  addEventListener('pagehide', () => site.close())
}

start(document.getElementById('app')!)

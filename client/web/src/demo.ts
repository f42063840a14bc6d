/**
 * The empty-document offer: "Create a demo site" writes the seed generator's site (300
 * objects) as one transaction with the Site's origin, so it goes out as one update. It is
 * not left on the undo stack (one Ctrl+Z would wipe the site).
 */
import { generateSite } from '../../../shared/schema/generate.ts'
import { type Editor, tryWrite } from './context.ts'
import { h } from './dom.ts'

export function createDemoOffer(editor: Editor): HTMLElement {
  const { site } = editor
  const button = h('button', { class: 'primary', 'data-testid': 'create-demo', disabled: editor.readOnly }, 'Create a demo site')
  const box = h(
    'div',
    { class: 'empty', hidden: true },
    h('h2', {}, 'This document is empty'),
    h(
      'p',
      {},
      editor.readOnly
        ? 'Your token grants read only: someone with write access can fill it.'
        : 'Start from a generated building: floors, zones, systems, components, anchors and digital humans.',
    ),
    button,
  )
  button.addEventListener('click', () => {
    if (editor.readOnly) return
    button.disabled = true
    if (tryWrite(editor, () => site.doc.transact(() => generateSite(site.doc, { objects: 300, seed: 1 }), site.origin))) editor.undo.clear()
    update()
  })
  const update = () => {
    box.hidden = !(site.status.state === 'synced' && site.objects().length === 0)
    if (!box.hidden && !editor.readOnly) button.disabled = false
  }
  site.onStatus(update)
  site.on('objectChanged', update)
  update()
  return box
}

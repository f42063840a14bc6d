/**
 * Undo and redo of this user's own edits: a Y.UndoManager over the three maps, tracking only
 * transactions with the Site's origin (others' edits are never undone). Ctrl/Cmd+Z undoes,
 * Ctrl/Cmd+Shift+Z and Ctrl+Y redo, except while typing in a field (the field's own undo).
 */
import * as Y from 'yjs'
import type { Site } from '../../sdk/index.ts'
import { anchorsOf, humansOf, objectsOf } from '../../../shared/schema/document.ts'
import { h } from './dom.ts'

export function undoManagerFor(site: Site): Y.UndoManager {
  return new Y.UndoManager([objectsOf(site.doc), anchorsOf(site.doc), humansOf(site.doc)], { trackedOrigins: new Set([site.origin]) })
}

const typing = (target: EventTarget | null) => target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))

export function undoButtons(undo: Y.UndoManager, readOnly: boolean): HTMLElement {
  const undoBtn = h('button', { 'data-testid': 'undo', title: 'Undo (Ctrl+Z)', disabled: true }, '↶ Undo')
  const redoBtn = h('button', { 'data-testid': 'redo', title: 'Redo (Ctrl+Shift+Z)', disabled: true }, '↷ Redo')
  const refresh = () => {
    undoBtn.disabled = readOnly || !undo.canUndo()
    redoBtn.disabled = readOnly || !undo.canRedo()
  }
  undoBtn.addEventListener('click', () => undo.undo())
  redoBtn.addEventListener('click', () => undo.redo())
  for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) undo.on(event, refresh)
  document.addEventListener('keydown', (e) => {
    if (readOnly || !(e.ctrlKey || e.metaKey) || typing(e.target)) return
    const key = e.key.toLowerCase()
    if (key === 'z' && !e.shiftKey) undo.undo()
    else if ((key === 'z' && e.shiftKey) || (key === 'y' && !e.metaKey)) undo.redo()
    else return
    e.preventDefault()
  })
  return h('span', { class: 'undo' }, undoBtn, redoBtn)
}

import type { Editor } from '../context.ts'
import { h } from '../dom.ts'
export function propertyPanel(_editor: Editor): HTMLElement {
  return h('section', { class: 'panel', 'data-testid': 'panel' })
}

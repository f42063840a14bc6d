import type { Editor } from '../context.ts'
import { h } from '../dom.ts'
export function planView(_editor: Editor): HTMLElement {
  return h('section', { class: 'plan' })
}

/**
 * Pointer input on the plan. On a component (when editing is allowed): drag it, moving only
 * its element until pointerup, then one `updateObject(id, { bbox })`. Anywhere else: drag
 * pans, a click selects what is under it (nothing: clears). The wheel zooms about the
 * pointer. Pointer moves are sent as this user's cursor, at most CURSOR_HZ a second.
 */
import type { BBox } from '../../../../shared/schema/domain.ts'
import { type Editor, select, tryWrite } from '../context.ts'
import type { FloorIndex } from './floor-index.ts'
import type { Viewport } from './viewport.ts'

const CLICK_SLOP_PX = 3
const CURSOR_HZ = 20

export interface PlanHooks {
  index(): FloorIndex | null
  element(id: string): SVGElement | undefined
  /** Called when a drag starts (id) and ends (null). */
  dragging(id: string | null): void
}

const round = (x: number) => Math.round(x * 100) / 100

export function attachInteraction(editor: Editor, svgEl: SVGSVGElement, view: Viewport, hooks: PlanHooks): void {
  let gesture: {
    kind: 'drag' | 'pan'
    id: string | null
    startX: number
    startY: number
    lastX: number
    lastY: number
    moved: boolean
    pointerId: number
  } | null = null

  svgEl.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return
    const id = (e.target as Element).closest('[data-id]')?.getAttribute('data-id') ?? null
    const item = id ? hooks.index()?.get(id) : undefined
    const kind = item?.type === 'component' && !editor.readOnly ? 'drag' : 'pan'
    gesture = { kind, id, startX: e.clientX, startY: e.clientY, lastX: e.clientX, lastY: e.clientY, moved: false, pointerId: e.pointerId }
    svgEl.setPointerCapture(e.pointerId)
    if (kind === 'drag') {
      select(editor, id)
      hooks.dragging(id)
    }
  })

  svgEl.addEventListener('pointermove', (e) => {
    sendCursor(e)
    if (!gesture || e.pointerId !== gesture.pointerId) return
    if (!gesture.moved && Math.hypot(e.clientX - gesture.startX, e.clientY - gesture.startY) < CLICK_SLOP_PX) return
    gesture.moved = true
    if (gesture.kind === 'pan') view.panBy(e.clientX - gesture.lastX, e.clientY - gesture.lastY)
    else moveElement(gesture.id!, (e.clientX - gesture.startX) / view.pxPerMetre, (e.clientY - gesture.startY) / view.pxPerMetre)
    gesture.lastX = e.clientX
    gesture.lastY = e.clientY
  })

  const end = (e: PointerEvent, cancelled: boolean) => {
    if (!gesture || e.pointerId !== gesture.pointerId) return
    const g = gesture
    gesture = null
    if (g.kind === 'drag') {
      if (g.moved && !cancelled) commitMove(g.id!, (e.clientX - g.startX) / view.pxPerMetre, (e.clientY - g.startY) / view.pxPerMetre)
      hooks.dragging(null)
    } else if (!g.moved && !cancelled) select(editor, g.id)
  }
  svgEl.addEventListener('pointerup', (e) => end(e, false))
  svgEl.addEventListener('pointercancel', (e) => end(e, true))

  svgEl.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault()
      view.zoomAt(e.clientX, e.clientY, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)))
    },
    { passive: false },
  )

  const bboxOf = (id: string): BBox | null => (hooks.index()?.get(id)?.object.bbox as BBox | undefined) ?? null

  const moveElement = (id: string, dx: number, dy: number) => {
    const b = bboxOf(id)
    const el = hooks.element(id)
    if (!b || !el) return
    el.setAttribute('x', String(b[0] + dx))
    el.setAttribute('y', String(b[1] + dy))
  }

  const commitMove = (id: string, dx: number, dy: number) => {
    const b = bboxOf(id)
    if (!b) return
    const bbox: BBox = [round(b[0] + dx), round(b[1] + dy), b[2], round(b[3] + dx), round(b[4] + dy), b[5]]
    tryWrite(editor, () => editor.site.updateObject(id, { bbox }))
  }

  // This user's cursor, throttled, with the last position always sent.
  let lastSent = 0
  let trailing: ReturnType<typeof setTimeout> | undefined
  const sendCursor = (e: PointerEvent) => {
    const floorId = editor.store.state.floorId
    if (!floorId) return
    const [x, y] = view.toPlan(e.clientX, e.clientY)
    const send = () => {
      lastSent = performance.now()
      editor.site.presence.setCursor({ floorId, x: round(x), y: round(y) })
    }
    clearTimeout(trailing)
    const wait = 1000 / CURSOR_HZ - (performance.now() - lastSent)
    if (wait <= 0) send()
    else trailing = setTimeout(send, wait)
  }
  svgEl.addEventListener('pointerleave', () => {
    clearTimeout(trailing)
    editor.site.presence.setCursor(null)
  })
}

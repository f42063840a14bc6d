/**
 * The plan's view: an SVG viewBox in metres kept at the element's aspect ratio, so one
 * metre is `pxPerMetre` pixels on both axes. Pan moves it by screen pixels; zoom scales it
 * about a screen point (the one under the wheel stays put).
 */
import type { Rect } from './floor-index.ts'

const MIN_PX_PER_M = 0.5
const MAX_PX_PER_M = 2000
const FIT_MARGIN = 0.05

/**
 * The view (left, top, width in metres) that shows all of `r` with a margin, centred, on a
 * cw × ch pixel plan. The zoom stays within the wheel's limits, so a box of 1e300 metres
 * from another client gives a finite view about its centre, never Infinity or NaN.
 */
export function fitView(r: Rect, cw: number, ch: number): { x: number; y: number; w: number } {
  const rw = Math.max(1, r[2] - r[0])
  const rh = Math.max(1, r[3] - r[1])
  const wanted = Math.max(rw, (rh * cw) / ch) * (1 + 2 * FIT_MARGIN)
  const w = Math.min(cw / MIN_PX_PER_M, Math.max(cw / MAX_PX_PER_M, Number.isFinite(wanted) ? wanted : Number.POSITIVE_INFINITY))
  const h = (w * ch) / cw
  // Halved first: (1e308 + 1e308) / 2 is Infinity.
  const cx = r[0] / 2 + r[2] / 2
  const cy = r[1] / 2 + r[3] / 2
  return Number.isFinite(cx) && Number.isFinite(cy) ? { x: cx - w / 2, y: cy - h / 2, w } : { x: 0, y: 0, w }
}

export class Viewport {
  x = 0
  y = 0
  w = 100
  constructor(
    readonly svg: SVGSVGElement,
    private readonly onChange: () => void,
  ) {
    new ResizeObserver(() => this.apply()).observe(svg)
  }

  get pxPerMetre(): number {
    return (this.svg.clientWidth || 800) / this.w
  }

  get h(): number {
    const { clientWidth: cw, clientHeight: ch } = this.svg
    return cw > 0 && ch > 0 ? (this.w * ch) / cw : this.w * 0.6
  }

  /** The visible area in metres. */
  get rect(): Rect {
    return [this.x, this.y, this.x + this.w, this.y + this.h]
  }

  /** Shows all of `r` with a margin, centred (within the zoom limits). */
  fit(r: Rect): void {
    const { x, y, w } = fitView(r, this.svg.clientWidth || 800, this.svg.clientHeight || 500)
    this.x = x
    this.y = y
    this.w = w
    this.apply()
  }

  panBy(dxPx: number, dyPx: number): void {
    const s = this.pxPerMetre
    this.x -= dxPx / s
    this.y -= dyPx / s
    this.apply()
  }

  zoomAt(clientX: number, clientY: number, factor: number): void {
    const [px, py] = this.toPlan(clientX, clientY)
    const scale = Math.min(MAX_PX_PER_M, Math.max(MIN_PX_PER_M, this.pxPerMetre * factor))
    const k = this.pxPerMetre / scale
    this.x = px - (px - this.x) * k
    this.y = py - (py - this.y) * k
    this.w *= k
    this.apply()
  }

  /** Plan coordinates (metres) of a screen point. */
  toPlan(clientX: number, clientY: number): [number, number] {
    const box = this.svg.getBoundingClientRect()
    const s = this.pxPerMetre
    return [this.x + (clientX - box.left) / s, this.y + (clientY - box.top) / s]
  }

  private apply(): void {
    this.svg.setAttribute('viewBox', `${this.x} ${this.y} ${this.w} ${this.h}`)
    this.onChange()
  }
}

/**
 * What the plan shows on top of the building: XR anchors, other people's headsets (from
 * presence `xr.head.p`) and their floor-plan cursors. Anchors and headsets are on the floor
 * whose height range holds their z; cursors carry their floor id. Markers keep a constant
 * size on screen (scaled by 1 / pixels per metre).
 */
import type { Site } from '../../../sdk/index.ts'
import type { Peer } from '../../../sdk/presence.ts'
import { svg } from '../dom.ts'
import { peerLabel } from '../presence.ts'
import { intersects, type Rect } from './floor-index.ts'

const DEFAULT_FLOOR_HEIGHT = 4

export function floorRange(site: Site, floorId: string): [number, number] | null {
  const floor = site.object(floorId)
  if (!floor || typeof floor.elevation !== 'number') return null
  return [floor.elevation, floor.elevation + (typeof floor.height === 'number' ? floor.height : DEFAULT_FLOOR_HEIGHT)]
}

/** Others' selections: object id → the first selector's name and colour. */
export function remoteSelections(peers: readonly Peer[]): Map<string, { name: string; color: string }> {
  const out = new Map<string, { name: string; color: string }>()
  for (const peer of peers) for (const id of peer.selection) if (!out.has(id)) out.set(id, peerLabel(peer))
  return out
}

export class Overlays {
  readonly root = svg('g', { class: 'overlays' })
  readonly #anchors = svg('g', { class: 'anchors' })
  readonly #headsets = svg('g', { class: 'headsets' })
  readonly #cursors = svg('g', { class: 'cursors' })

  constructor(readonly site: Site) {
    this.root.append(this.#anchors, this.#headsets, this.#cursors)
  }

  draw(floorId: string | null, view: Rect, pxPerMetre: number, peers: readonly Peer[]): void {
    const range = floorId ? floorRange(this.site, floorId) : null
    const onFloor = (z: number) => range !== null && z >= range[0] && z < range[1]
    const k = 1 / pxPerMetre
    const inView = (x: number, y: number) => intersects([x, y, x, y], view)

    const anchors: SVGElement[] = []
    for (const { id, anchor } of this.site.anchors()) {
      const [x, y, z] = anchor.pose.p
      if (!onFloor(z) || !inView(x, y)) continue
      const g = marker(x, y, k, { 'data-testid': `plan-anchor-${id}`, class: 'anchor', 'data-id': id })
      g.append(svg('path', { d: 'M0,-6 L6,0 L0,6 L-6,0 Z' }), titled(`${anchor.label || id} (anchor, confidence ${anchor.confidence})`))
      anchors.push(g)
    }
    this.#anchors.replaceChildren(...anchors)

    const headsets: SVGElement[] = []
    const cursors: SVGElement[] = []
    for (const peer of peers) {
      const { name, color } = peerLabel(peer)
      const head = peer.xr?.head.p
      if (head && onFloor(head[2]) && inView(head[0], head[1])) {
        const g = marker(head[0], head[1], k, { 'data-testid': `headset-${peer.clientId}`, class: 'headset', style: `--c: ${color}` })
        g.append(svg('circle', { r: 7 }), svg('circle', { r: 2.5, class: 'eye' }), label(name), titled(`${name} (headset)`))
        headsets.push(g)
      }
      const c = peer.cursor
      if (c && c.floorId === floorId && inView(c.x, c.y)) {
        const g = marker(c.x, c.y, k, { 'data-testid': `cursor-${peer.clientId}`, class: 'cursor', style: `--c: ${color}` })
        g.append(svg('path', { d: 'M0,0 L0,14 L4,10 L7,17 L9,16 L6,9 L11,9 Z' }), label(name))
        cursors.push(g)
      }
    }
    this.#headsets.replaceChildren(...headsets)
    this.#cursors.replaceChildren(...cursors)
  }
}

function marker(x: number, y: number, k: number, attrs: Record<string, string>): SVGGElement {
  return svg('g', { ...attrs, transform: `translate(${x} ${y}) scale(${k})` })
}

function label(text: string): SVGTextElement {
  const t = svg('text', { x: 10, y: -6 })
  t.textContent = text
  return t
}

function titled(text: string): SVGTitleElement {
  const t = svg('title')
  t.textContent = text
  return t
}

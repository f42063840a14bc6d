/**
 * `atrium-bot facility`: a BMS feed. It walks the building the way readers see it (the
 * resolved tree, depth first, so floor by floor) and updates one component at a time at
 * `--rate` updates a second: a sensor reading (`reading`, unless `--reading off`) and the
 * tags a BMS raises (`alarm`, `maintenance`; sensors.ts). The walk starts over from a fresh
 * tree after each pass, so components added or removed meanwhile are picked up. At high
 * rates several updates share one timer tick (timers are ~1 ms apart at best); each update
 * is one validated SDK write.
 */
import { prng } from '../../shared/schema/generate.ts'
import type { Site } from '../sdk/index.ts'
import { type BotContext, type BotReport, sleep, withSite } from './bot.ts'
import type { FacilityFlags } from './flags.ts'
import { modelFor, nextTags, nextValue, sameTags } from './sensors.ts'

/** How long to wait before looking again when the building has no components. */
const EMPTY_RETRY_MS = 1000
/** Most updates written in one timer tick when the bot is behind schedule (then it yields). */
const MAX_PER_TICK = 500

/** Component ids in walk order: depth first over the resolved tree, siblings by id. */
export function walkComponents(site: Site): string[] {
  const out: string[] = []
  const stack = [...site.tree()].reverse()
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node.object.type === 'component') out.push(node.id)
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!)
  }
  return out
}

export async function runFacility(flags: FacilityFlags, ctx: BotContext): Promise<BotReport> {
  return withSite('facility', flags, ctx, async (site, stop) => {
    const random = prng(flags.seed)
    const values = new Map<string, number>()
    const counts = { updates: 0, readings: 0, alarmsRaised: 0, alarmsCleared: 0, maintenanceStarted: 0, passes: 0, skipped: 0 }
    const touched = new Set<string>()
    const intervalMs = 1000 / flags.rate
    const start = performance.now()
    let due = 0 // updates due so far on the schedule

    /** One component's update; false when it is gone (deleted since the walk began). */
    const update = (id: string): boolean => {
      const object = site.object(id)
      if (object?.type !== 'component') return false
      const model = modelFor(object.kind)
      const value = nextValue(model, values.get(id), random)
      values.set(id, value)
      const tags = Array.isArray(object.tags) ? (object.tags as string[]) : []
      const next = nextTags(tags, model, value, random)
      const patch: Record<string, unknown> = {}
      if (flags.reading) patch.reading = { value, unit: model.unit, at: Date.now() }
      if (!sameTags(tags, next)) patch.tags = next
      if (Object.keys(patch).length === 0) return true // nothing a BMS would report this time
      site.updateObject(id, patch)
      counts.updates++
      if (patch.reading) counts.readings++
      if (next.includes('alarm') && !tags.includes('alarm')) counts.alarmsRaised++
      if (!next.includes('alarm') && tags.includes('alarm')) counts.alarmsCleared++
      if (next.includes('maintenance') && !tags.includes('maintenance')) counts.maintenanceStarted++
      touched.add(id)
      return true
    }

    while (!stop.aborted) {
      const walk = walkComponents(site)
      if (walk.length === 0) {
        ctx.log('facility: the building has no components yet; waiting')
        if (!(await sleep(EMPTY_RETRY_MS, stop))) break
        continue
      }
      counts.passes++
      for (let i = 0; i < walk.length && !stop.aborted; ) {
        const target = Math.floor((performance.now() - start) / intervalMs) + 1
        if (target <= due) {
          if (!(await sleep(start + due * intervalMs - performance.now(), stop))) break // until the next one is due
          continue
        }
        // Catch up with the schedule, a bounded number at a time.
        for (let n = 0; due < target && n < MAX_PER_TICK && i < walk.length; n++, due++) if (!update(walk[i++]!)) counts.skipped++
        if (due < target) await new Promise((r) => setImmediate(r))
      }
    }
    return {
      stats: { ...counts, components: touched.size, rate: flags.rate, reading: flags.reading },
      summary: `${counts.updates} component updates (${counts.readings} readings) over ${touched.size} components in ${counts.passes} passes; alarms raised ${counts.alarmsRaised}, cleared ${counts.alarmsCleared}; maintenance started ${counts.maintenanceStarted}`,
    }
  })
}

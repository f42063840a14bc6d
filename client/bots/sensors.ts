/**
 * The facility bot's simulated BMS points: one sensor per component, its unit and normal
 * band chosen by the component's kind, a value that drifts (mean-reverting random walk, so
 * it stays plausible for hours) and spikes now and then, and the tags a BMS would raise:
 * `alarm` while the value is outside its band, `maintenance` now and then for a while.
 * Pure and seeded, so the feed repeats and is unit-tested without a server.
 */

export interface SensorModel {
  readonly unit: string
  /** The normal band; outside it the component is tagged `alarm`. */
  readonly low: number
  readonly high: number
}

const MODELS: Readonly<Record<string, SensorModel>> = {
  vav: { unit: '°C', low: 18, high: 26 },
  'fan-coil': { unit: '°C', low: 18, high: 26 },
  'water-heater': { unit: '°C', low: 50, high: 65 },
  diffuser: { unit: 'm³/h', low: 100, high: 400 },
  damper: { unit: '%', low: 10, high: 90 },
  valve: { unit: '%', low: 10, high: 90 },
  panel: { unit: 'kW', low: 5, high: 80 },
  outlet: { unit: 'W', low: 0, high: 2000 },
  luminaire: { unit: 'lx', low: 300, high: 750 },
  switch: { unit: 'W', low: 0, high: 500 },
  pump: { unit: 'kPa', low: 150, high: 400 },
  sink: { unit: 'L/min', low: 0, high: 12 },
  'access-point': { unit: 'clients', low: 0, high: 60 },
  camera: { unit: 'fps', low: 15, high: 30 },
  sensor: { unit: 'ppm', low: 400, high: 1000 },
}
const DEFAULT_MODEL: SensorModel = { unit: '%', low: 0, high: 100 }

export const modelFor = (kind: unknown): SensorModel => (typeof kind === 'string' && Object.hasOwn(MODELS, kind) ? MODELS[kind]! : DEFAULT_MODEL)

/** Tags this feed owns; any other tag on a component is left as it is. */
export const FEED_TAGS = ['alarm', 'maintenance'] as const

/** How likely one update is to spike the value out of its band, start maintenance, or end it. */
const SPIKE = 0.04
const MAINTENANCE_START = 0.01
const MAINTENANCE_END = 0.1

/** The next value: drift toward the middle of the band, noise of 5 % of the band, sometimes a spike out of it. */
export function nextValue(model: SensorModel, previous: number | undefined, random: () => number): number {
  const span = model.high - model.low
  const mid = model.low + span / 2
  const start = previous ?? model.low + span * (0.25 + 0.5 * random())
  let value = start + (mid - start) * 0.1 + (random() - 0.5) * 0.1 * span
  if (random() < SPIKE) value = random() < 0.5 ? model.low - span * 0.2 * random() : model.high + span * 0.2 * random()
  return Math.round(value * 100) / 100
}

/** The component's tags after this reading: `alarm` follows the band, `maintenance` comes and goes; others kept, order kept. */
export function nextTags(tags: readonly string[], model: SensorModel, value: number, random: () => number): string[] {
  const alarm = value < model.low || value > model.high
  const inMaintenance = tags.includes('maintenance')
  const maintenance = inMaintenance ? random() >= MAINTENANCE_END : random() < MAINTENANCE_START
  const out = tags.filter((t) => !(FEED_TAGS as readonly string[]).includes(t))
  if (alarm) out.push('alarm')
  if (maintenance) out.push('maintenance')
  return out
}

export const sameTags = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((t, i) => t === b[i])

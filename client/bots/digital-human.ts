/**
 * `atrium-bot digital-human`: a digital human that looks alive to everyone in the site.
 * Each line it speaks: it turns `speaking` on, picks an expression, looks at someone (a
 * person's head or floor-plan cursor when anyone is present, else an anchor, else a point),
 * plays its talk animation with the clip time advancing, and types the words into its
 * transcript in bursts at a speaking rate (typing.ts). Between lines it glances away, plays
 * a gesture and falls silent. Every choice comes from `--seed`, so a run can be repeated;
 * every write goes through the SDK's validating helpers.
 */
import { readFile } from 'node:fs/promises'
import { humansOf } from '../../shared/schema/document.ts'
import { EXPRESSIONS, type Human } from '../../shared/schema/domain.ts'
import { prng } from '../../shared/schema/generate.ts'
import type { Site } from '../sdk/index.ts'
import { type BotContext, type BotReport, sleep, withSite } from './bot.ts'
import type { DigitalHumanFlags } from './flags.ts'
import { splitWords, typingSchedule } from './typing.ts'

export const BUILT_IN_LINES = [
  'Welcome to the site. I will walk you through what is happening in the building today.',
  'The air handler on level two reported a high supply temperature this morning. Maintenance is on the way.',
  'If you look to your left, you can see the new meeting rooms on the east wing.',
  'Energy use is down twelve percent since last month! The new lighting controls are paying off.',
  'Is there anything you would like me to show you? I can point out any system on this floor.',
  'Please mind the anchors placed around the plant room. They mark equipment that is still being installed.',
  'The fire compartments are all green. The last inspection was two weeks ago.',
  'Thanks for visiting. I will stay here if you need anything else.',
]

const GESTURES = ['nod', 'wave', 'shrug', 'point'] as const
/** How often the animation clock is written while nothing else changes, ms. */
const ANIMATION_TICK_MS = 250
const EYE_HEIGHT = 1.6

type Gaze = NonNullable<Human['gaze']>
type GazeKind = 'person' | 'anchor' | 'point'

export async function readLines(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
  if (lines.length === 0) throw new Error(`--lines ${file}: no lines to speak (one a line, blank lines skipped)`)
  return lines
}

/**
 * The human to drive: `--human` (created when missing), else the site's first, else a new one.
 * A human that exists but fails the schema (`site.human` reads it as null) is never created
 * over, which would replace its transcript: the bot drives `${id}-bot` instead (or `-bot-2`, …).
 */
export function chooseHuman(
  site: Pick<Site, 'doc' | 'humans' | 'human' | 'createHuman'>,
  wanted: string | undefined,
  seed: number,
): { id: string; created: boolean; invalid: string | null } {
  const base = wanted ?? site.humans()[0]?.id ?? `bot-human-${seed >>> 0}`
  const stored = humansOf(site.doc)
  let id = base
  for (let n = 1; stored.has(id) && !site.human(id); n++) id = `${base}-bot${n === 1 ? '' : `-${n}`}`
  const invalid = id === base ? null : base
  if (site.human(id)) return { id, created: false, invalid }
  const human: Human = {
    name: wanted ?? 'Atrium guide',
    expression: { preset: 'neutral', intensity: 0.5 },
    gaze: null,
    speaking: false,
    animation: { clip: 'idle', time: 0, loop: true },
  }
  site.createHuman(id, human, '')
  return { id, created: true, invalid }
}

class Performer {
  readonly counts = { lines: 0, words: 0, bursts: 0, expressions: 0, animations: 0, gazePerson: 0, gazeAnchor: 0, gazePoint: 0 }
  private readonly random: () => number
  /** When the animation was last written (performance.now() ms). */
  private animationWritten = performance.now()

  constructor(
    private readonly site: Site,
    private readonly id: string,
    private readonly flags: DigitalHumanFlags,
    private readonly stop: AbortSignal,
  ) {
    this.random = prng(flags.seed)
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!
  }

  /** Someone to look at: a person when `preferPerson` and anyone is there, else an anchor, else a point near the human. */
  gaze(preferPerson: boolean): Gaze {
    const people: Gaze[] = []
    if (preferPerson) {
      for (const peer of this.site.presence.others()) {
        if (peer.xr) people.push({ target: peer.xr.head.p })
        else if (peer.cursor) {
          const elevation = this.site.object(peer.cursor.floorId)?.elevation
          people.push({ target: [peer.cursor.x, peer.cursor.y, (typeof elevation === 'number' ? elevation : 0) + EYE_HEIGHT] })
        }
      }
    }
    let kind: GazeKind = 'point'
    let gaze: Gaze
    const anchors = this.site.anchors()
    if (people.length > 0) {
      kind = 'person'
      gaze = this.pick(people)
    } else if (anchors.length > 0) {
      kind = 'anchor'
      gaze = { anchorId: this.pick(anchors).id }
    } else gaze = { target: [this.random() * 10 - 5, this.random() * 10 - 5, EYE_HEIGHT] }
    this.counts[kind === 'person' ? 'gazePerson' : kind === 'anchor' ? 'gazeAnchor' : 'gazePoint']++
    return gaze
  }

  private expression(): Human['expression'] {
    this.counts.expressions++
    return { preset: this.pick(EXPRESSIONS), intensity: Math.round((0.3 + 0.7 * this.random()) * 100) / 100 }
  }

  /** Speaks one line; false when stopped part-way. */
  async speak(line: string): Promise<boolean> {
    const bursts = typingSchedule(`${line}\n`, this.random, { wpm: this.flags.wpm })
    const start = performance.now()
    const clock = () => (performance.now() - start) / 1000
    this.counts.lines++
    this.counts.animations++
    this.site.updateHuman(this.id, { speaking: true, expression: this.expression(), gaze: this.gaze(true), animation: { clip: 'talk', time: 0, loop: true } })
    this.animationWritten = start
    for (const burst of bursts) {
      if (!(await this.animateUntil(start + burst.atMs, 'talk', true, clock))) return false
      this.site.appendTranscript(this.id, burst.text)
      this.counts.bursts++
      this.counts.words += splitWords(burst.text).length
      // A glance elsewhere between sentences, as people do.
      if (burst.sentenceEnd && burst !== bursts.at(-1)) this.site.updateHuman(this.id, { gaze: this.gaze(this.random() < 0.5) })
    }
    return true
  }

  /** Falls silent, glances away and plays a gesture for a pause of 1.5-3 s; false when stopped. */
  async pause(): Promise<boolean> {
    const clip = this.pick(GESTURES)
    const start = performance.now()
    this.counts.animations++
    this.site.updateHuman(this.id, { speaking: false, gaze: this.gaze(false), animation: { clip, time: 0, loop: false } })
    this.animationWritten = start
    return this.animateUntil(start + 1500 + 1500 * this.random(), clip, false, () => (performance.now() - start) / 1000)
  }

  /** Waits until `until` (performance.now() ms), writing the animation clock at most once a tick; false when stopped. */
  private async animateUntil(until: number, clip: string, loop: boolean, clock: () => number): Promise<boolean> {
    for (;;) {
      const now = performance.now()
      if (now - this.animationWritten >= ANIMATION_TICK_MS) {
        this.site.updateHuman(this.id, { animation: { clip, time: Math.round(clock() * 1000) / 1000, loop } })
        this.animationWritten = now
      }
      const left = until - now
      if (left <= 0) return !this.stop.aborted
      if (!(await sleep(Math.min(left, ANIMATION_TICK_MS - (now - this.animationWritten)), this.stop))) return false
    }
  }

  /** Leaves the human at rest (not left "speaking" forever when the bot stops mid-line). */
  rest(): void {
    this.site.updateHuman(this.id, { speaking: false, animation: { clip: 'idle', time: 0, loop: true } })
  }
}

export async function runDigitalHuman(flags: DigitalHumanFlags, ctx: BotContext): Promise<BotReport> {
  const lines = flags.lines ? await readLines(flags.lines) : BUILT_IN_LINES
  return withSite('digital-human', flags, ctx, async (site, stop) => {
    const { id, created, invalid } = chooseHuman(site, flags.human, flags.seed)
    if (invalid !== null) ctx.log(`digital-human: human ${invalid} exists but is not valid; left as it is`)
    ctx.log(`digital-human: ${created ? 'created' : 'driving'} human ${id}`)
    const performer = new Performer(site, id, flags, stop)
    for (let i = 0; !stop.aborted; i++) {
      if (!(await performer.speak(lines[i % lines.length]!))) break
      if (!(await performer.pause())) break
    }
    performer.rest()
    const c = performer.counts
    return {
      stats: { human: id, created, invalidHuman: invalid, ...c },
      summary: `human ${id}${created ? ' (created)' : ''}${invalid !== null ? ` (${invalid} is not valid, left as it is)` : ''} spoke ${c.lines} lines (${c.words} words in ${c.bursts} bursts), ${c.expressions} expressions, gaze ${c.gazePerson} at people / ${c.gazeAnchor} at anchors / ${c.gazePoint} at points, ${c.animations} animations`,
    }
  })
}

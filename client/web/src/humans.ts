/**
 * Digital humans: each one's name, whether it is speaking, its expression and gaze, and the
 * end of its live transcript (`transcript-<id>`, updated in place as the text arrives).
 */
import type { HumanEntry } from '../../sdk/views.ts'
import type { Editor } from './context.ts'
import { frameScheduler, h } from './dom.ts'

const TRANSCRIPT_CHARS = 600
/** Cards drawn at most (a document may hold any number of humans; each card is redrawn on every change). */
const MAX_HUMANS = 50

function gazeText(gaze: HumanEntry['human']['gaze']): string {
  if (gaze === null) return 'ahead'
  if ('anchorId' in gaze) return `anchor ${gaze.anchorId}`
  return `[${gaze.target.map((v) => v.toFixed(1)).join(', ')}]`
}

export function humansView(editor: Editor): HTMLElement {
  const { site } = editor
  const list = h('div', { class: 'human-list' })
  const root = h('section', { class: 'humans', 'data-testid': 'humans' }, h('h2', {}, 'Digital humans'), list)
  const transcripts = new Map<string, HTMLElement>()

  const card = ({ id, human }: HumanEntry): HTMLElement => {
    const transcript = h('p', { class: 'transcript', 'data-testid': `transcript-${id}`, 'aria-live': 'polite' }, tail(human.transcript))
    transcripts.set(id, transcript)
    return h(
      'article',
      { class: `human${human.speaking ? ' speaking' : ''}`, 'data-testid': `human-${id}` },
      h(
        'header',
        {},
        h('strong', {}, human.name),
        human.speaking && h('span', { class: 'speaking-dot', title: 'speaking' }, '● speaking'),
        human.animation && h('span', { class: 'muted' }, human.animation.clip),
      ),
      h(
        'div',
        { class: 'muted' },
        h('span', { 'data-testid': `expression-${id}` }, `${human.expression.preset} ${Math.round(human.expression.intensity * 100)}%`),
        ' · gaze ',
        h('span', { 'data-testid': `gaze-${id}` }, gazeText(human.gaze)),
      ),
      transcript,
    )
  }

  const render = () => {
    transcripts.clear()
    const humans = site.humans()
    const cards = humans.slice(0, MAX_HUMANS).map(card)
    if (humans.length > MAX_HUMANS) cards.push(h('p', { class: 'muted' }, `${humans.length - MAX_HUMANS} more not shown`))
    list.replaceChildren(...(humans.length ? cards : [h('p', { class: 'muted' }, 'None in this site.')]))
  }
  const schedule = frameScheduler(render)
  site.on('humanChanged', schedule)
  // Transcript text only: no need to rebuild the cards.
  site.on('transcript', (e) => {
    const el = transcripts.get(e.humanId)
    if (el) {
      el.textContent = tail(e.text)
      el.scrollTop = el.scrollHeight
    } else schedule()
  })
  render()
  return root
}

const tail = (text: string) => (text.length > TRANSCRIPT_CHARS ? `…${text.slice(-TRANSCRIPT_CHARS)}` : text)

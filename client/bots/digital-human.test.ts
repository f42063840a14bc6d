import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createHuman, humansOf } from '../../shared/schema/document.ts'
import type { Human } from '../../shared/schema/domain.ts'
import { SiteView } from '../sdk/views.ts'
import { chooseHuman } from './digital-human.ts'

const ada: Human = { name: 'Ada', expression: { preset: 'happy', intensity: 1 }, gaze: null, speaking: false, animation: { clip: 'idle', time: 0, loop: true } }

function offlineSite() {
  const doc = new Y.Doc()
  const view = new SiteView(doc)
  return {
    doc,
    humans: () => view.humans(),
    human: (id: string) => view.human(id),
    createHuman: (id: string, human: Human, transcript?: string) => createHuman(doc, id, human, transcript),
  }
}

/** A stored human that fails the schema, with a transcript of its own. */
function storeInvalid(doc: Y.Doc, id: string): void {
  const map = new Y.Map<unknown>()
  humansOf(doc).set(id, map)
  map.set('name', 42)
  map.set('transcript', new Y.Text('kept words'))
}

describe('digital-human: which human it drives', () => {
  it('drives a valid human, creates a missing one', () => {
    const site = offlineSite()
    createHuman(site.doc, 'h1', ada)
    expect(chooseHuman(site, 'h1', 1)).toEqual({ id: 'h1', created: false, invalid: null })
    expect(chooseHuman(site, 'guide', 1)).toEqual({ id: 'guide', created: true, invalid: null })
    expect(site.human('guide')?.name).toBe('guide')
  })

  it('never creates over a human that exists but is not valid: it takes another id', () => {
    const site = offlineSite()
    storeInvalid(site.doc, 'h1')
    storeInvalid(site.doc, 'h1-bot')
    expect(chooseHuman(site, 'h1', 1)).toEqual({ id: 'h1-bot-2', created: true, invalid: 'h1' })
    expect((humansOf(site.doc).get('h1')!.get('transcript') as Y.Text).toString()).toBe('kept words')
    expect(humansOf(site.doc).get('h1')!.get('name')).toBe(42)
    // The next run drives the one it created.
    expect(chooseHuman(site, 'h1', 1)).toEqual({ id: 'h1-bot-2', created: false, invalid: 'h1' })
  })
})

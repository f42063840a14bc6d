import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { awarenessStates, decodeRecording, encodeEvent, encodeHeader, type RecordedEvent, type RecordingHeader, RecordingError } from './recording.ts'

const START = new Date('2026-11-29T00:00:00.000Z')

async function all(text: string, complete = text.endsWith('\n'), headers: RecordingHeader[] = []): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = []
  for await (const e of decodeRecording(text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined), {
    complete: () => complete,
    onHeader: (h) => headers.push(h),
  }))
    out.push(e)
  return out
}

describe('recording file', () => {
  it('round-trips updates and awareness with their times, byte for byte', async () => {
    const u = new Uint8Array([1, 2, 3, 250])
    const slice = new Uint8Array([9, 9, 7, 8, 9]).subarray(2, 4) // a view into a bigger buffer
    const text = encodeHeader('site/a', START) + encodeEvent(0, 'u', u) + encodeEvent(12.345, 'a', slice)
    const headers: RecordingHeader[] = []
    const events = await all(text, true, headers)
    expect(headers).toEqual([{ atrium: 'recording', version: 1, doc: 'site/a', startedAt: START.toISOString() }])
    expect(events).toEqual([
      { t: 0, kind: 'u', payload: u },
      { t: 12.3, kind: 'a', payload: new Uint8Array([7, 8]) },
    ])
  })

  it('skips a last line cut short, and only that', async () => {
    const text = encodeHeader('site/a', START) + encodeEvent(1, 'u', new Uint8Array([1])) + encodeEvent(2, 'u', new Uint8Array([2]))
    const cut = text.slice(0, -7)
    expect((await all(cut)).map((e) => e.t)).toEqual([1])
    const broken = `${encodeHeader('site/a', START)}{"t":1,"k"\n${encodeEvent(2, 'u', new Uint8Array([2]))}`
    await expect(all(broken)).rejects.toThrow(/line 2: not JSON/)
    // The same cut, but the file ended with a newline: it was written whole, so it is an error.
    await expect(all(`${cut}\n`, true)).rejects.toThrow(RecordingError)
  })

  it('joins appended segments into one timeline', async () => {
    const a = encodeHeader('site/a', START) + encodeEvent(0, 'u', new Uint8Array([1])) + encodeEvent(500, 'u', new Uint8Array([2]))
    const b = encodeHeader('site/a', new Date(START.getTime() + 60_000)) + encodeEvent(0, 'u', new Uint8Array([3])) + encodeEvent(10, 'a', new Uint8Array([4]))
    expect((await all(a + b)).map((e) => e.t)).toEqual([0, 500, 500, 510])
  })

  it('refuses files that are not recordings', async () => {
    await expect(all('')).rejects.toThrow(/no recording header/)
    await expect(all(encodeEvent(0, 'u', new Uint8Array([1])))).rejects.toThrow(/before any recording header/)
    await expect(all(`${encodeHeader('site/a', START)}{"t":-1,"k":"u","b":""}\n`)).rejects.toThrow(/line 2/)
    await expect(all(`${encodeHeader('site/a', START)}{"t":1,"k":"x","b":""}\n`)).rejects.toThrow(/line 2/)
  })

  it('reads the states out of a y-protocols awareness update', () => {
    const awareness = new Awareness(new Y.Doc())
    try {
      awareness.setLocalState({ user: { name: 'Ada', color: '#112233' } })
      const entries = awarenessStates(encodeAwarenessUpdate(awareness, [awareness.clientID]))
      expect(entries).toEqual([{ clientId: awareness.clientID, clock: 1, state: { user: { name: 'Ada', color: '#112233' } } }])
      awareness.setLocalState(null)
      expect(awarenessStates(encodeAwarenessUpdate(awareness, [awareness.clientID]))[0]!.state).toBeNull()
    } finally {
      awareness.destroy()
    }
  })
})

import { describe, expect, it } from 'vitest'
import { prng } from '../../shared/schema/generate.ts'
import { splitWords, typingSchedule } from './typing.ts'

const LINE = 'Welcome to level three. The air handler on the roof is running at forty percent! Any questions?'

describe('typing schedule', () => {
  it('concatenates back to the line, in time order', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const bursts = typingSchedule(LINE, prng(seed))
      expect(bursts.map((b) => b.text).join('')).toBe(LINE)
      for (let i = 1; i < bursts.length; i++) expect(bursts[i]!.atMs).toBeGreaterThanOrEqual(bursts[i - 1]!.atMs)
    }
  })

  it('is the same for the same seed and differs for another', () => {
    expect(typingSchedule(LINE, prng(7))).toEqual(typingSchedule(LINE, prng(7)))
    expect(typingSchedule(LINE, prng(7))).not.toEqual(typingSchedule(LINE, prng(8)))
  })

  it('speaks at about the requested rate, in bursts of 1-4 words, pausing after sentences', () => {
    const words = splitWords(LINE).length
    const bursts = typingSchedule(LINE, prng(3), { wpm: 150, sentencePauseMs: [0, 0] })
    const total = bursts.at(-1)!.atMs
    // 0.8-1.2 × 400 ms per word.
    expect(total).toBeGreaterThanOrEqual(words * 400 * 0.8 - 1)
    expect(total).toBeLessThanOrEqual(words * 400 * 1.2 + 1)
    for (const b of bursts) expect(splitWords(b.text).length).toBeLessThanOrEqual(4)
    expect(bursts.filter((b) => b.sentenceEnd).map((b) => b.text.trim().at(-1))).toEqual(['.', '!', '?'])
    const paused = typingSchedule(LINE, prng(3), { wpm: 150, sentencePauseMs: [1000, 1000] })
    expect(paused.at(-1)!.atMs - total).toBe(2000) // two sentence breaks inside the line
  })

  it('handles empty and whitespace-only text', () => {
    expect(typingSchedule('', prng(1))).toEqual([])
    expect(typingSchedule('   ', prng(1)).map((b) => b.text)).toEqual(['   '])
  })
})

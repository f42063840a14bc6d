/**
 * When a digital human's words land in its transcript: people hear speech in bursts of a few
 * words, not per keystroke, so a transcript that grows one character at a time looks (and
 * costs, one Yjs update per character) like nobody speaks. A burst of 1-4 words arrives once
 * it has been said, at about `wpm` words a minute with some jitter, and a sentence ends with
 * a pause. Pure and deterministic from `random` (a seeded prng), so tests and runs repeat.
 */

export interface Burst {
  /** Ms after the line starts. */
  readonly atMs: number
  /** Text to append; the bursts of a line concatenate to the line exactly. */
  readonly text: string
  /** This burst ends a sentence (the speaker pauses after it). */
  readonly sentenceEnd: boolean
}

export interface TypingOptions {
  /** Words a minute [150]. */
  readonly wpm?: number
  /** Most words in one burst [4]. */
  readonly maxBurstWords?: number
  /** Pause after a sentence, ms [600, 1400]. */
  readonly sentencePauseMs?: readonly [number, number]
}

const SENTENCE_END = /[.!?…]["')\]]*\s*$/

/** Words with the whitespace after them (leading whitespace joins the first word), so they concatenate back to `text`. */
export function splitWords(text: string): string[] {
  const words = text.match(/\s*\S+\s*/g) ?? []
  return words.length === 0 && text.length > 0 ? [text] : words
}

/** The bursts of one line, in time order. */
export function typingSchedule(text: string, random: () => number, options: TypingOptions = {}): Burst[] {
  const msPerWord = 60_000 / (options.wpm ?? 150)
  const maxWords = Math.max(1, options.maxBurstWords ?? 4)
  const [pauseMin, pauseMax] = options.sentencePauseMs ?? [600, 1400]
  const words = splitWords(text)
  const out: Burst[] = []
  let at = 0
  let i = 0
  while (i < words.length) {
    const want = 1 + Math.floor(random() * maxWords)
    let burst = ''
    let n = 0
    // A burst never runs past the end of a sentence: the pause belongs between them.
    while (n < want && i < words.length) {
      burst += words[i++]!
      n++
      if (SENTENCE_END.test(burst)) break
    }
    at += n * msPerWord * (0.8 + 0.4 * random())
    const sentenceEnd = SENTENCE_END.test(burst)
    out.push({ atMs: Math.round(at), text: burst, sentenceEnd })
    if (sentenceEnd && i < words.length) at += pauseMin + (pauseMax - pauseMin) * random()
  }
  return out
}

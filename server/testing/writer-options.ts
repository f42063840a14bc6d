/** Writer options for tests that build a registry or a SharedDoc by hand: the server's defaults. */
import { clientLimits } from '../admission/limits.ts'
import { configWith } from '../config.ts'
import type { WriterOptions } from '../documents/doc-writer.ts'
import { Turns } from '../documents/turns.ts'

export function writerOptions(overrides: Partial<WriterOptions> = {}): WriterOptions {
  const config = configWith({})
  return {
    limits: clientLimits(config),
    maxSessionNewClients: config.MAX_CONNECTION_NEW_CLIENTS,
    turns: new Turns(3),
    inlineWork: 5e6,
    sliceWork: 10e6,
    inFlight: { bytes: 0, max: 8 * config.MAX_MESSAGE_BYTES },
    maxWaitingMessages: 100_000,
    maxWaitingBytes: 8 * config.MAX_MESSAGE_BYTES,
    waitingTotal: { bytes: 0, max: 32 * config.MAX_MESSAGE_BYTES },
    ...overrides,
  }
}

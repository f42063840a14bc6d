/**
 * The bounds of admission, per update and per connection. Client updates get the configured
 * ones; stored updates (loading a document) and updates from other cluster nodes (admitted
 * there already) are only held to the conflict-scan bound, which is what tells a poisoned
 * document from a large one.
 */
export interface UpdateLimits {
  readonly maxStructs: number
  /** Delete ranges after merging (raw ones may be up to four times as many). */
  readonly maxDeleteRanges: number
  /** New client ids in one update. */
  readonly maxNewClients: number
  /** Work units (about ns) integrating one update may cost, deletes included. */
  readonly maxWork: number
  /** Conflict-scan steps allowed: this many, plus `stepsPerStruct` per struct of the update. */
  readonly stepsFloor: number
  readonly stepsPerStruct: number
  /**
   * Bytes of an update's structs that may depend on content the server does not have (Yjs keeps
   * them pending, then integrates them unchecked when that arrives): 0 for clients; stored and
   * cluster updates (Yjs's own output) are trusted.
   */
  readonly maxPendingBytes: number
  /** Deleted ranges past what the document has, which Yjs re-applies on every later update. */
  readonly maxPendingDeleteRanges: number
  readonly maxNewRoots: number
  readonly maxRoots: number
}

/**
 * Yjs places concurrent inserts at one position by scanning the run of them, so k inserts at
 * one spot cost k²: typing (each character after the previous one) never builds such a run,
 * but two offline clients prepending thousands of single items to the same spot do. Measured
 * (BENCHMARKS.md, hostile input): 3,000 such inserts each merge in 1.3 million steps (0.14 s
 * in Yjs, well within the bound), 10,000 in 14 million (2.1 s); a crafted 4,000 + 4,000 bomb
 * of 44 KB needs 16 million, and 0.23 + 1.79 MB about 6 minutes. The default floor is
 * MAX_UPDATE_CONFLICT_STEPS (about 60 ms of Yjs), plus 128 steps per struct of the update.
 */
export const STEPS_PER_STRUCT = 128

export function clientLimits(config: {
  readonly MAX_UPDATE_STRUCTS: number
  readonly MAX_UPDATE_DELETE_RANGES: number
  readonly MAX_UPDATE_NEW_CLIENTS: number
  readonly MAX_UPDATE_WORK_MS: number
  readonly MAX_UPDATE_CONFLICT_STEPS: number
}): UpdateLimits {
  return {
    maxStructs: config.MAX_UPDATE_STRUCTS,
    maxDeleteRanges: config.MAX_UPDATE_DELETE_RANGES,
    maxNewClients: config.MAX_UPDATE_NEW_CLIENTS,
    maxWork: config.MAX_UPDATE_WORK_MS * 1e6,
    stepsFloor: config.MAX_UPDATE_CONFLICT_STEPS,
    stepsPerStruct: STEPS_PER_STRUCT,
    maxPendingBytes: 0,
    maxPendingDeleteRanges: 1000,
    maxNewRoots: 16,
    maxRoots: 256,
  }
}

/** Conflict-scan steps an update of `structs` structs may cost. */
export const maxSteps = (limits: UpdateLimits, structs: number): number => limits.stepsFloor + limits.stepsPerStruct * structs

const UNBOUNDED = Number.POSITIVE_INFINITY

/** Conflict-scan steps a stored or remote update may cost besides its per-struct share (the default client floor). */
export const TRUSTED_STEPS_FLOOR = 1_000_000

/** Stored and cluster updates: only the conflict-scan bound. */
export const TRUSTED_LIMITS: UpdateLimits = {
  maxStructs: UNBOUNDED,
  maxDeleteRanges: UNBOUNDED,
  maxNewClients: UNBOUNDED,
  maxWork: UNBOUNDED,
  stepsFloor: TRUSTED_STEPS_FLOOR,
  stepsPerStruct: STEPS_PER_STRUCT,
  maxPendingBytes: UNBOUNDED,
  maxPendingDeleteRanges: UNBOUNDED,
  maxNewRoots: UNBOUNDED,
  maxRoots: UNBOUNDED,
}

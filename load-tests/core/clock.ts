/** Milliseconds on CLOCK_MONOTONIC: one clock for every process on the machine. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

/** The memory guard unloads idle documents near the budget, refuses new ones past it, and resumes below 95 %. */
import { describe, expect, it } from 'vitest'
import { MemoryGuard, memoryBudget } from './memory-guard.ts'

describe('the memory guard', () => {
  it('unloads idle documents from 90 %, refuses from 100 %, resumes under 95 %', () => {
    let rss = 50
    let unloads = 0
    const events: string[] = []
    const guard = new MemoryGuard({
      budgetBytes: 100,
      rss: () => rss,
      unloadIdle: () => {
        unloads++
        return 2
      },
      observe: (e) => events.push(e.kind),
      intervalMs: 60_000,
    })
    expect([guard.refusing, unloads, guard.refusal()]).toEqual([false, 0, null])
    rss = 92
    guard.check()
    expect([guard.refusing, unloads]).toEqual([false, 1])
    rss = 101
    guard.check()
    expect(guard.refusing).toBe(true)
    expect(guard.refusal()).toMatch(/memory budget/)
    rss = 97 // under the budget, not yet under 95 %: still refusing
    guard.check()
    expect(guard.refusing).toBe(true)
    rss = 94
    guard.check()
    expect(guard.refusing).toBe(false)
    expect(events).toEqual(['unloading', 'unloading', 'refusing', 'unloading', 'unloading', 'resumed'])
    guard.stop()
  })

  it('takes MEMORY_BUDGET_MB, else 80 % of the container’s limit when below the machine’s, else of the machine', () => {
    expect(memoryBudget(512, null, 8 * 2 ** 30)).toBe(512 * 2 ** 20)
    expect(memoryBudget(undefined, 2 * 2 ** 30, 8 * 2 ** 30)).toBe(Math.floor(0.8 * 2 * 2 ** 30))
    expect(memoryBudget(undefined, null, 10_000)).toBe(8_000)
    expect(memoryBudget(undefined, 2 ** 62, 10_000)).toBe(8_000) // a "limit" above the machine is none
  })

  it('resumes when live memory is low even if RSS stays high (malloc keeps freed pages)', () => {
    let live = 90
    const guard = new MemoryGuard({ budgetBytes: 100, rss: () => 101, live: () => live, unloadIdle: () => 0, intervalMs: 60_000 })
    expect(guard.refusing).toBe(true)
    guard.check()
    expect(guard.refusing).toBe(true)
    live = 60
    guard.check()
    expect(guard.refusing).toBe(false)
    guard.check() // RSS still over the budget: no flapping back while live memory stays low
    expect(guard.refusing).toBe(false)
    guard.stop()
  })
})

import { describe, expect, it } from 'vitest'
import { parseCli, UsageError } from './args.ts'

describe('atrium-load flags', () => {
  it('fills defaults and reads every flag', () => {
    const o = parseCli([
      '--url',
      'ws://127.0.0.1:1234/',
      '--docs',
      '3',
      '--editors-per-doc',
      '7',
      '--rate',
      '2.5',
      '--awareness-hz',
      '90',
      '--payload',
      '64',
      '--duration',
      '5',
      '--protocol',
      'hocuspocus',
      '--workers',
      '2',
      '--json',
      'r.json',
      '--max-p99',
      '5',
      '--max-loss',
      '0.1',
      '--ramp',
      '--doc-prefix',
      'x/',
    ])
    expect(o.plan).toMatchObject({
      url: 'ws://127.0.0.1:1234',
      docs: 3,
      editorsPerDoc: 7,
      rate: 2.5,
      awarenessHz: 90,
      payload: 64,
      durationS: 5,
      protocol: 'hocuspocus',
      workers: 2,
      docPrefix: 'x/',
      replicasPerDoc: 3,
    })
    expect(o.slo).toEqual({ maxP99Ms: 5, maxLossPct: 0.1 })
    expect(o.ramp).toBe(true)
    expect(o.json).toBe('r.json')
    const d = parseCli(['--url', 'ws://h:1'])
    expect(d.plan).toMatchObject({ protocol: 'yws', docs: 1, editorsPerDoc: 10, rate: 10, awarenessHz: 0, durationS: 10, workers: 1 })
    expect(d.ramp).toBe(false)
    expect(parseCli(['--url', 'ws://a:1/,ws://b:2,ws://c:3/']).plan.url).toBe('ws://a:1,ws://b:2,ws://c:3')
  })

  it.each([
    [[], /--url is required/],
    [['--url', 'http://x'], /--url must look like ws:\/\/host:port/],
    [['--url', 'ws://a:1,http://b:2'], /comma-separated/],
    [['--url', 'ws://a:1,'], /--url must look like/],
    [['--url', 'ws://h:1', '--docs', 'many'], /--docs must be a/],
    [['--url', 'ws://h:1', '--docs', '0'], /--docs must be from 1/],
    [['--url', 'ws://h:1', '--docs', '1.5'], /--docs must be a whole number/],
    [['--url', 'ws://h:1', '--protocol', 'socket.io'], /--protocol must be yws or hocuspocus/],
    [['--url', 'ws://h:1', '--max-loss', '101'], /--max-loss must be from 0 to 100/],
    [['--url', 'ws://h:1', '--bogus'], /Unknown option '--bogus'/],
    [['--url', 'ws://h:1', 'stray'], /positional/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError)
    expect(() => parseCli(argv)).toThrow(message)
  })
})

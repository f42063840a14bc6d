import { describe, expect, it } from 'vitest'
import { parseBotArgs, UsageError } from './flags.ts'

const BASE = ['--url', 'ws://127.0.0.1:1234', '--doc', 'site/demo']

describe('atrium-bot flags', () => {
  it('parses the common flags with their defaults', () => {
    expect(parseBotArgs(['facility', ...BASE])).toEqual({
      command: 'facility',
      flags: { urls: ['ws://127.0.0.1:1234'], doc: 'site/demo', token: undefined, durationS: undefined, seed: 1, json: false, rate: 2, reading: true },
    })
  })

  it('takes several URLs, repeated or comma-separated, without trailing slashes', () => {
    const r = parseBotArgs(['record', '--url', 'ws://a:1/', '--url', 'ws://b:2,wss://c:3', '--doc', 'site/x', '--out', 'r.jsonl'])
    expect(r.command === 'record' && r.flags.urls).toEqual(['ws://a:1', 'ws://b:2', 'wss://c:3'])
  })

  it('reads the token from ATRIUM_TOKEN unless --token is given', () => {
    const env = { ATRIUM_TOKEN: 'from-env' }
    const a = parseBotArgs(['xr', ...BASE], env)
    const b = parseBotArgs(['xr', ...BASE, '--token', 'flag'], env)
    expect(a.command === 'xr' && a.flags.token).toBe('from-env')
    expect(b.command === 'xr' && b.flags.token).toBe('flag')
  })

  it('parses each command’s own flags', () => {
    const dh = parseBotArgs(['digital-human', ...BASE, '--human', 'h-1', '--lines', 'l.txt', '--wpm', '180', '--duration', '2.5', '--seed', '9', '--json'])
    expect(dh).toMatchObject({ command: 'digital-human', flags: { human: 'h-1', lines: 'l.txt', wpm: 180, durationS: 2.5, seed: 9, json: true } })
    expect(parseBotArgs(['facility', ...BASE, '--rate', '0.5', '--reading', 'off'])).toMatchObject({ flags: { rate: 0.5, reading: false } })
    expect(parseBotArgs(['replay', ...BASE, '--in', 'r.jsonl', '--speed', '4'])).toMatchObject({ flags: { in: 'r.jsonl', speed: 4, presence: 'first' } })
    expect(parseBotArgs(['xr', ...BASE, '--headsets', '50', '--hz', '90'])).toMatchObject({ flags: { headsets: 50, hz: 90, anchors: 1 } })
  })

  it('accepts --script without the command, and passes what follows -- to the script', () => {
    expect(parseBotArgs(['--script', 'x.mjs', ...BASE, '--', 'a', '--b'])).toMatchObject({ command: 'script', flags: { script: 'x.mjs', args: ['a', '--b'] } })
    expect(parseBotArgs(['script', ...BASE, '--script=y.mjs'])).toMatchObject({ command: 'script', flags: { script: 'y.mjs', args: [] } })
  })

  it('answers --help and no arguments with the usage', () => {
    expect(parseBotArgs([])).toEqual({ command: 'help' })
    expect(parseBotArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseBotArgs(['facility', '--help'])).toEqual({ command: 'help' })
  })

  it.each([
    [['dance', ...BASE], /unknown command "dance"/],
    [['--doc', 'site/x'], /give a command/],
    [['facility', '--doc', 'site/x'], /--url is required/],
    [['facility', '--url', 'http://x:1', '--doc', 'site/x'], /--url must look like ws/],
    [['facility', '--url', 'ws://x:1'], /--doc is required/],
    [['facility', '--url', 'ws://x:1', '--doc', '../etc'], /--doc must be a valid document name/],
    [['facility', ...BASE, '--rate', 'fast'], /--rate must be a number/],
    [['facility', ...BASE, '--reading', 'maybe'], /--reading must be on or off/],
    [['facility', ...BASE, '--duration', '0'], /--duration must be from/],
    [['record', ...BASE], /--out is required/],
    [['replay', ...BASE, '--in', 'r', '--speed', '0'], /--speed must be from/],
    [['digital-human', ...BASE, '--human', 'has space'], /--human must be an id/],
    [['xr', ...BASE, '--headsets', '2.5'], /--headsets must be a whole number/],
    [['facility', ...BASE, 'extra'], /positional/i],
    [['facility', ...BASE, '--out', 'x'], /Unknown option '--out'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBotArgs(argv)).toThrow(UsageError)
    expect(() => parseBotArgs(argv)).toThrow(message)
  })
})

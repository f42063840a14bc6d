/** The servers a benchmark measures, started the same way everywhere: compiled Atrium and the peers of load-tests/bench/peers/. */
import type { Protocol } from '../core/editor.ts'
import { startServerProcess } from '../harness/server-process.ts'
import { startPeer } from './peer-process.ts'

export interface BenchTarget {
  readonly name: string
  readonly protocol: Protocol
  readonly url: string
  readonly pid: number
  stop(): void
}

/** Compiled Atrium in a fresh process, with `env` on top of the defaults. */
export async function atriumTarget(env: Record<string, string | number> = {}, name = 'Atrium', protocol: Protocol = 'yws'): Promise<BenchTarget> {
  const s = await startServerProcess(env, undefined, { built: true })
  return { name, protocol, url: s.wsUrl, pid: s.proc.pid!, stop: () => s.proc.kill('SIGKILL') }
}

const PEERS = {
  hocuspocus: { name: 'Hocuspocus 3.4.4', protocol: 'hocuspocus' },
  'y-websocket': { name: 'y-websocket 0.1.1', protocol: 'yws' },
} as const

/** A peer server in a fresh process. */
export async function peerTarget(peer: keyof typeof PEERS): Promise<BenchTarget> {
  const { proc, port } = await startPeer(peer)
  return { ...PEERS[peer], url: `ws://127.0.0.1:${port}`, pid: proc.pid!, stop: () => proc.kill('SIGKILL') }
}

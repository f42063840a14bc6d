/** Starts a peer server of load-tests/bench/peers/ as a child process and reads the port it prints. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export async function startPeer(script: 'hocuspocus' | 'y-websocket' | 'uws-relay' | 'uws-yjs'): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./peers/${script}.ts`, import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { port: number }).port))
    proc.once('exit', (code, signal) => reject(new Error(`peer ${script} exited (${code ?? signal}) before it printed its port`)))
  })
  return { proc, port }
}

#!/usr/bin/env node
// `atrium-load` bin: runs the TypeScript CLI through tsx (workers are forked the same way).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../cli/atrium-load.ts', import.meta.url))
const { status } = spawnSync(process.execPath, ['--import', 'tsx', cli, ...process.argv.slice(2)], { stdio: 'inherit' })
process.exit(status ?? 1)

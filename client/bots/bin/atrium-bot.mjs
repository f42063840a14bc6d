#!/usr/bin/env node
// `atrium-bot` bin: runs the TypeScript CLI through tsx, as atrium-load's bin does, but in
// this process (tsx's register API) instead of a child behind spawnSync: a SIGINT sent to
// this pid (a supervisor, a test, `kill -INT`) must reach the bot itself, exactly once, so it
// can close its site, flush its recording and print its report before it exits.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../atrium-bot.ts')
process.exit(await main(process.argv.slice(2)))

import WebSocket from 'ws'
import { connectSite } from '../sdk/index.ts'

const site = connectSite({ urls: process.env.ATRIUM_URL ?? 'ws://127.0.0.1:1234', doc: 'site/hello', WebSocket })
site.onStatus((s) => console.log(`status: ${s.state}, ${s.pendingChanges} pending`))
await site.whenSynced()
if (!site.object('hq')) {
  site.batch((w) => {
    w.createObject('hq', { type: 'building', parentId: null, name: 'HQ' })
    w.createObject('hq-0', { type: 'floor', parentId: 'hq', name: 'Ground', level: 0, elevation: 0 })
  })
}
site.on('objectChanged', (e) => console.log(`${e.kind} ${e.id}:`, e.changes))
site.updateObject('hq', { name: `HQ, edited ${new Date().toISOString()}` })
await site.whenConfirmed()
console.log(site.tree().map((b) => `${b.object.name}: ${b.children.length} floor(s)`))
site.close()

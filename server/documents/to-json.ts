/**
 * A Y.Doc as plain JSON without knowing its schema. Root types that were created by
 * applying updates are untyped (AbstractType) until someone asks for them as a Map, Array
 * or Text; we infer which from their content, the way a generic inspector has to.
 */
import * as Y from 'yjs'
import type { YType } from '../admission/model.ts'

export function docToJSON(doc: Y.Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of doc.share) {
    out[name] = rootToJSON(doc, name, type)
  }
  return out
}

function rootToJSON(doc: Y.Doc, name: string, type: YType): unknown {
  if (type instanceof Y.Map || type instanceof Y.Array || type instanceof Y.Text || type instanceof Y.XmlFragment) return type.toJSON()
  if (type._map.size > 0) return doc.getMap(name).toJSON()
  let item = type._start
  while (item?.deleted) item = item.right
  if (!item) return null
  if (item.content instanceof Y.ContentString || item.content instanceof Y.ContentFormat || item.content instanceof Y.ContentEmbed) {
    return doc.getText(name).toString()
  }
  return doc.getArray(name).toJSON()
}

import { describe, expect, it } from 'vitest'
import {
  encodeAuthenticated,
  encodeHocuspocusClose,
  encodeHocuspocusFrame,
  encodePermissionDenied,
  encodeSyncStatus,
} from '../../shared/protocol/hocuspocus.ts'
import { encodeSyncStep1 } from '../../shared/protocol/messages.ts'
import { hocuspocusRefusal } from './editor.ts'

describe('a Hocuspocus editor', () => {
  it('reads why a document was refused or closed, and nothing else as a refusal', () => {
    expect(hocuspocusRefusal(encodePermissionDenied('d', 'forbidden: no right to "d"'))).toBe('permission denied: forbidden: no right to "d"')
    expect(hocuspocusRefusal(encodeHocuspocusClose('d', '4422 update breaks the document schema: x'))).toBe(
      'document closed: 4422 update breaks the document schema: x',
    )
    expect(hocuspocusRefusal(encodeAuthenticated('d', 'read-write'))).toBeNull()
    expect(hocuspocusRefusal(encodeSyncStatus('d', true))).toBeNull()
    expect(hocuspocusRefusal(encodeHocuspocusFrame('d', encodeSyncStep1(new Uint8Array([0]))))).toBeNull()
    // Unreadable frames are receive()'s to count as protocol errors.
    expect(hocuspocusRefusal(Uint8Array.of(200))).toBeNull()
  })
})

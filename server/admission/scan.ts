/**
 * One linear pass over a Yjs update (v1 encoding, what y-websocket and Hocuspocus send) that
 * records each struct's id, length, links and byte range, and the delete set, without building
 * Yjs items or decoding content values. Everything Atrium decides about an update before Yjs
 * sees it (admission, placement, slicing) reads this.
 *
 * Defensive by construction: every count read from the wire is checked against the bytes left
 * before anything is allocated for it, struct counts stop at `maxStructs`, nesting of `any`
 * values at MAX_ANY_DEPTH, and clocks at MAX_CLOCK, so a hostile update costs at most one
 * bounded pass here. The layout mirrors Yjs 13's readClientsStructRefs / readDeleteSet.
 */
import * as decoding from 'lib0/decoding'
import { AtriumError } from '../../shared/errors.ts'

export interface Id {
  readonly client: number
  readonly clock: number
}

/** Content references of items (Yjs `contentRefs`); 0 and 10 are GC and Skip structs. */
export const Ref = { GC: 0, Deleted: 1, JSON: 2, Binary: 3, String: 4, Embed: 5, Format: 6, Type: 7, Any: 8, Doc: 9, Skip: 10 } as const

/** Type references inside ContentType (Yjs `typeRefs`). */
export const TypeRef = { Array: 0, Map: 1, Text: 2, XmlElement: 3, XmlFragment: 4, XmlHook: 5, XmlText: 6 } as const

/**
 * The structs of an update as columns (struct i is entry i of each array), so that scanning
 * 8 MB allocates a few arrays rather than hundreds of thousands of objects. Ids are split into
 * client and clock columns; -1 in a client column means "none".
 */
/** Columns start this small (most updates are an edit or two) and double as they fill. */
const INITIAL = 4

export class ScannedUpdate {
  count = 0
  client = new Float64Array(INITIAL)
  clock = new Float64Array(INITIAL)
  length = new Float64Array(INITIAL)
  /** A `Ref`: GC, Skip, or an item's content kind. */
  ref = new Uint8Array(INITIAL)
  /** ContentType only: which type (`TypeRef`), else 255. */
  typeRef = new Uint8Array(INITIAL)
  originClient = new Float64Array(INITIAL)
  originClock = new Float64Array(INITIAL)
  rightClient = new Float64Array(INITIAL)
  rightClock = new Float64Array(INITIAL)
  /**
   * Written only when the item has neither origin nor right origin: the id of the item whose
   * type holds it (parentClient/parentClock), or a root type's name (parentRoot, an index into
   * `strings`); -1 when not written.
   */
  parentClient = new Float64Array(INITIAL)
  parentClock = new Float64Array(INITIAL)
  parentRoot = new Int32Array(INITIAL)
  /** Map key (index into `strings`), -1 for list items. */
  parentSub = new Int32Array(INITIAL)
  /** Byte range of the whole struct in the update, and where its content starts. */
  start = new Uint32Array(INITIAL)
  contentStart = new Uint32Array(INITIAL)
  end = new Uint32Array(INITIAL)
  /** Root names and map keys, in the order read. */
  readonly strings: string[] = []
  readonly blocks: ScannedBlock[] = []
  /** The delete set exactly as encoded (duplicates and overlaps included). */
  readonly deletes: DeleteRange[] = []
  /** Byte offset where the delete set starts. */
  deleteSetStart = 0

  constructor(readonly bytes: Uint8Array) {}

  addString(s: string): number {
    return this.strings.push(s) - 1
  }

  /** Room for one more struct; returns its index. */
  grow(): number {
    const i = this.count++
    if (i < this.client.length) return i
    const n = this.client.length * 2
    this.client = widen(this.client, n)
    this.clock = widen(this.clock, n)
    this.length = widen(this.length, n)
    this.originClient = widen(this.originClient, n)
    this.originClock = widen(this.originClock, n)
    this.rightClient = widen(this.rightClient, n)
    this.rightClock = widen(this.rightClock, n)
    this.parentClient = widen(this.parentClient, n)
    this.parentClock = widen(this.parentClock, n)
    this.ref = widen(this.ref, n)
    this.typeRef = widen(this.typeRef, n)
    this.parentRoot = widen(this.parentRoot, n)
    this.parentSub = widen(this.parentSub, n)
    this.start = widen(this.start, n)
    this.contentStart = widen(this.contentStart, n)
    this.end = widen(this.end, n)
    return i
  }

  /** Whether struct i is an item (not a GC or Skip struct). */
  isItem(i: number): boolean {
    const r = this.ref[i]!
    return r !== Ref.GC && r !== Ref.Skip
  }
}

type Column = Float64Array | Uint8Array | Int32Array | Uint32Array

/** A column of `n` entries of the same type, starting with `a`'s. */
function widen<T extends Column>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n)
  b.set(a)
  return b
}

/** One client's structs: consecutive structs from index `first`, clocks contiguous from `clock`. */
export interface ScannedBlock {
  readonly client: number
  readonly clock: number
  readonly first: number
  readonly count: number
}

export interface DeleteRange {
  readonly client: number
  readonly clock: number
  readonly len: number
}

export class UpdateFormatError extends AtriumError {
  override readonly name = 'UpdateFormatError'
}

/** The update has more structs or delete ranges than the caller allows (thrown before they are all read). */
export class TooMany extends AtriumError {
  override readonly name = 'TooMany'
  constructor(
    readonly what: 'structs' | 'delete ranges' | 'new client ids',
    readonly limit: number,
  ) {
    super(`update has more than ${limit} ${what}`)
  }
}

export interface ScanLimits {
  readonly maxStructs: number
  /** Delete ranges as encoded (before merging). */
  readonly maxDeleteRanges: number
  /** Client ids the reader does not know yet (a flood is refused at the first one too many, not read to its end). */
  readonly newClients?: { readonly known: (client: number) => boolean; readonly max: number } | undefined
}

const NO_LIMITS: ScanLimits = { maxStructs: Number.POSITIVE_INFINITY, maxDeleteRanges: Number.POSITIVE_INFINITY }

/** Deepest nesting of JSON-like (`any`) values accepted; Yjs decodes them recursively. */
export const MAX_ANY_DEPTH = 256
/**
 * Largest clock (id clock + length) accepted. Honest clocks count a client's operations and
 * stay far below; past 2^53 clock arithmetic stops being exact.
 */
export const MAX_CLOCK = 2 ** 40

const BITS5 = 31
const BIT6 = 32
const BIT7 = 64
const BIT8 = 128

/** Scans a whole update at once (see Scanner for one in slices). */
export function scanUpdate(bytes: Uint8Array, limits: ScanLimits = NO_LIMITS): ScannedUpdate {
  const scanner = new Scanner(bytes, limits)
  while (!scanner.advance(Number.POSITIVE_INFINITY));
  return scanner.update
}

/**
 * Scans an update a few bytes at a time (`advance`), so an 8 MB update is read in slices
 * between other work. Throws UpdateFormatError or TooMany.
 */
export class Scanner {
  readonly update: ScannedUpdate
  private readonly d: decoding.Decoder
  private blocksLeft = -1
  private structsLeft = 0
  private client = 0
  private clock = 0
  private readonly seen = new Set<number>()
  /** Client ids with structs that `limits.newClients.known` did not know (counted only with that limit). */
  newClients = 0
  private done = false

  constructor(
    bytes: Uint8Array,
    private readonly limits: ScanLimits = NO_LIMITS,
  ) {
    this.update = new ScannedUpdate(bytes)
    this.d = decoding.createDecoder(bytes)
  }

  /** Reads about `bytes` more bytes (stopping at `deadline`, performance.now() ms, too); true once the whole update is read. */
  advance(bytes: number, deadline = Number.POSITIVE_INFINITY): boolean {
    if (this.done) return true
    try {
      this.done = this.read(this.d.pos + bytes, deadline)
      return this.done
    } catch (err) {
      if (err instanceof UpdateFormatError || err instanceof TooMany) throw err
      // lib0 throws plain Errors on reading past the end.
      throw new UpdateFormatError(`truncated or garbled update: ${(err as Error).message}`)
    }
  }

  /** Bytes read so far. */
  get position(): number {
    return this.d.pos
  }

  private read(until: number, deadline: number): boolean {
    const { d, update: u } = this
    let n = 0
    if (this.blocksLeft < 0) this.blocksLeft = count(d, 'client blocks')
    while (this.structsLeft > 0 || this.blocksLeft > 0) {
      if (this.structsLeft === 0) {
        this.blocksLeft--
        const numStructs = count(d, 'structs')
        const client = decoding.readVarUint(d)
        const clock = decoding.readVarUint(d)
        // Yjs keeps only the last block of a client and drops the others unseen: refuse instead.
        if (this.seen.has(client)) throw new UpdateFormatError(`client ${client} has two blocks of structs`)
        this.seen.add(client)
        const fresh = this.limits.newClients
        if (fresh && numStructs > 0 && !fresh.known(client) && ++this.newClients > fresh.max) throw new TooMany('new client ids', fresh.max)
        if (u.count + numStructs > this.limits.maxStructs) throw new TooMany('structs', this.limits.maxStructs)
        u.blocks.push({ client, clock, first: u.count, count: numStructs })
        this.client = client
        this.clock = clock
        this.structsLeft = numStructs
        continue
      }
      this.structsLeft--
      this.clock += readStruct(d, u, this.client, this.clock)
      if (this.clock > MAX_CLOCK) throw new UpdateFormatError(`client ${this.client}'s clock passes ${MAX_CLOCK}`)
      if (d.pos >= until || ((++n & 255) === 0 && performance.now() >= deadline)) return false
    }
    u.deleteSetStart = d.pos
    const numClients = count(d, 'delete-set clients')
    for (let c = 0; c < numClients; c++) {
      const client = decoding.readVarUint(d)
      const numRanges = count(d, 'delete ranges')
      if (u.deletes.length + numRanges > this.limits.maxDeleteRanges) throw new TooMany('delete ranges', this.limits.maxDeleteRanges)
      for (let r = 0; r < numRanges; r++) {
        const clock = decoding.readVarUint(d)
        const len = decoding.readVarUint(d)
        if (clock + len > MAX_CLOCK) throw new UpdateFormatError(`a deleted range of client ${client} passes clock ${MAX_CLOCK}`)
        u.deletes.push({ client, clock, len })
      }
    }
    // Trailing bytes are ignored, as Yjs ignores them.
    return true
  }
}

/** A count read from the wire; each counted thing takes at least one byte, so more than the bytes left is garbage. */
function count(d: decoding.Decoder, what: string): number {
  const n = decoding.readVarUint(d)
  if (n > d.arr.length - d.pos) throw new UpdateFormatError(`update claims ${n} ${what} in ${d.arr.length - d.pos} bytes`)
  return n
}

/** Reads struct `u.count` into the columns; returns its length. */
function readStruct(d: decoding.Decoder, u: ScannedUpdate, client: number, clock: number): number {
  const i = u.grow()
  u.client[i] = client
  u.clock[i] = clock
  u.start[i] = d.pos
  u.originClient[i] = -1
  u.rightClient[i] = -1
  u.parentClient[i] = -1
  u.parentRoot[i] = -1
  u.parentSub[i] = -1
  u.typeRef[i] = 255
  const info = decoding.readUint8(d)
  const ref = info & BITS5
  u.ref[i] = ref
  let length: number
  if (ref === Ref.GC || ref === Ref.Skip) {
    u.contentStart[i] = d.pos
    length = decoding.readVarUint(d)
  } else {
    if (ref > Ref.Doc) throw new UpdateFormatError(`unknown content type ${ref}`)
    if (info & BIT8) {
      u.originClient[i] = decoding.readVarUint(d)
      u.originClock[i] = decoding.readVarUint(d)
    }
    if (info & BIT7) {
      u.rightClient[i] = decoding.readVarUint(d)
      u.rightClock[i] = decoding.readVarUint(d)
    }
    if ((info & (BIT7 | BIT8)) === 0) {
      if (decoding.readVarUint(d) === 1) u.parentRoot[i] = u.addString(decoding.readVarString(d))
      else {
        u.parentClient[i] = decoding.readVarUint(d)
        u.parentClock[i] = decoding.readVarUint(d)
      }
      if (info & BIT6) u.parentSub[i] = u.addString(decoding.readVarString(d))
    }
    u.contentStart[i] = d.pos
    length = readContent(d, u, i, ref)
  }
  if (length === 0) throw new UpdateFormatError('a struct of length 0')
  u.length[i] = length
  u.end[i] = d.pos
  return length
}

/** Skips an item's content, returning its length as Yjs counts it (clock units). */
function readContent(d: decoding.Decoder, u: ScannedUpdate, i: number, ref: number): number {
  switch (ref) {
    case Ref.Deleted:
      return decoding.readVarUint(d)
    case Ref.JSON: {
      const n = count(d, 'JSON values')
      // Yjs JSON.parses each on decode (and throws half-way through an update): check them here.
      for (let i = 0; i < n; i++) checkJson(decoding.readVarString(d), true)
      return n
    }
    case Ref.Binary:
      skipString(d)
      return 1
    case Ref.String:
      // Yjs counts UTF-16 code units of the decoded string; decode exactly as it does.
      return decoding.readVarString(d).length
    case Ref.Embed:
      checkJson(decoding.readVarString(d), false)
      return 1
    case Ref.Format:
      skipString(d)
      checkJson(decoding.readVarString(d), false)
      return 1
    case Ref.Type: {
      const typeRef = decoding.readVarUint(d)
      if (typeRef > TypeRef.XmlText) throw new UpdateFormatError(`unknown type reference ${typeRef}`)
      if (typeRef === TypeRef.XmlElement || typeRef === TypeRef.XmlHook) skipString(d)
      u.typeRef[i] = typeRef
      return 1
    }
    case Ref.Any: {
      const n = count(d, 'values')
      for (let i = 0; i < n; i++) skipAny(d)
      return n
    }
    default: // Doc
      skipString(d)
      skipAny(d)
      return 1
  }
}

/** Content Yjs decodes with JSON.parse must parse (ContentJSON also takes the word undefined). */
function checkJson(text: string, undefinedAllowed: boolean): void {
  if (undefinedAllowed && text === 'undefined') return
  try {
    JSON.parse(text)
  } catch {
    throw new UpdateFormatError('an item holds text that is not JSON where Yjs expects JSON')
  }
}

function skipString(d: decoding.Decoder): void {
  const n = decoding.readVarUint(d)
  if (n > d.arr.length - d.pos) throw new UpdateFormatError('a string runs past the end of the update')
  d.pos += n
}

/** Skips one lib0 `any` value without building it; iterative, so nesting cannot exhaust the stack. */
function skipAny(d: decoding.Decoder): void {
  // Values still to read at each open level (objects count key + value as one, keys read inline).
  const pending: number[] = [1]
  const isObject: boolean[] = [false]
  while (pending.length > 0) {
    const top = pending.length - 1
    if (pending[top] === 0) {
      pending.pop()
      isObject.pop()
      continue
    }
    pending[top]!--
    if (isObject[top]) skipString(d)
    const tag = decoding.readUint8(d)
    switch (tag) {
      case 127: // undefined
      case 126: // null
      case 121: // false
      case 120: // true
        break
      case 125:
        decoding.readVarInt(d)
        break
      case 124:
        advance(d, 4)
        break
      case 123:
      case 122:
        advance(d, 8)
        break
      case 119: // string
      case 116: // Uint8Array
        skipString(d)
        break
      case 118: // object
      case 117: {
        // array
        if (pending.length >= MAX_ANY_DEPTH) throw new UpdateFormatError(`a value nests deeper than ${MAX_ANY_DEPTH} levels`)
        pending.push(count(d, 'entries'))
        isObject.push(tag === 118)
        break
      }
      default:
        throw new UpdateFormatError(`unknown value tag ${tag}`)
    }
  }
}

function advance(d: decoding.Decoder, n: number): void {
  if (n > d.arr.length - d.pos) throw new UpdateFormatError('a value runs past the end of the update')
  d.pos += n
}

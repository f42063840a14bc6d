/**
 * Durability flows one way: storage moves these marks forward (the group commit, told by the
 * store); readers — the cluster's heartbeat, and the acknowledgement of client writes once it
 * exists — only read them, and never reach back into the group commit or the store.
 *
 * A mark numbers the updates handed to storage, in order. One set of marks serves every
 * document: a group commit writes everything pending in one append, and a tiered store ships
 * its log in order, so an update is durable exactly when every update handed before it is,
 * whatever its document. A watermark per document would always equal this one.
 */
export interface DurableWatermark {
  /** Mark of the newest update handed to storage. */
  readonly handed: number
  /** Every update up to this mark survives a crash of this node (where a client's write may be acknowledged). */
  readonly local: number
  /**
   * Every update up to this mark is in the store documents load from: the shared one with a
   * tiered store (local log shipped to MongoDB), else the same as `local`.
   */
  readonly shared: number
}

export * from './doc-store.ts'
export { LmdbStore, type LmdbStoreOptions } from './lmdb-store.ts'
export { MemoryStore } from './memory-store.ts'

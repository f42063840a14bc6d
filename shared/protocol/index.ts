export * from './close-codes.ts'
export * from './messages.ts'
export * from './awareness.ts'
export * from './doc-name.ts'

export * from './domain.ts'
export * from './document.ts'

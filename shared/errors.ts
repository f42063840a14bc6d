/**
 * The one style of Atrium's error classes (server, persistence, shared code and, later,
 * the client SDK; so this file stays pure and browser-safe). Every error class:
 *
 * - extends AtriumError and sets `name` to its own name as a string literal
 *   (`override readonly name = 'ComputeBusy'`). Logs, stack traces and test failures then
 *   say which error it was, where a class without it prints as a bare `Error`; and a literal
 *   survives the minifier that will bundle the client SDK, which `constructor.name` does
 *   not. The base declares it abstract, so a new class cannot forget it.
 * - takes the facts a caller acts on as readonly constructor parameters (a limit, a
 *   document name, a refusal) and builds its message from them: code branches on fields
 *   and `instanceof`, never on message text, and the message is free to read well.
 * - passes an underlying error on as the standard `cause` rather than a field of its own.
 */
export abstract class AtriumError extends Error {
  abstract override readonly name: string
}

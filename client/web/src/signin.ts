/**
 * The sign-in form: paste a token, kept in sessionStorage, and the page reconnects with it.
 * Offered from the header, and opened by itself when the server refuses the page for want
 * of a (valid) token.
 */
import { h } from './dom.ts'
import { saveToken } from './params.ts'

export function signInDialog(currentToken: string | undefined): HTMLDialogElement {
  const input = h('textarea', { 'data-testid': 'token-input', rows: 4, placeholder: 'Paste a JWT (npm run token …)', spellcheck: 'false' })
  input.value = currentToken ?? ''
  const reload = () => {
    const url = new URL(location.href)
    url.searchParams.delete('token') // the stored token is used from now on
    location.assign(url)
  }
  const form = h(
    'form',
    { method: 'dialog', class: 'signin' },
    h('h2', {}, 'Sign in'),
    h('p', {}, 'Atrium checks a JSON Web Token. Paste one that grants this document.'),
    input,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', 'data-testid': 'token-submit', class: 'primary' }, 'Use token'),
      h('button', { type: 'button', 'data-testid': 'token-clear', value: 'clear' }, 'Sign out'),
      h('button', { type: 'button', value: 'cancel' }, 'Cancel'),
    ),
  )
  const dialog = h('dialog', { 'data-testid': 'signin' }, form)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    saveToken(input.value.trim() || null)
    reload()
  })
  form.addEventListener('click', (e) => {
    const value = (e.target as HTMLElement).closest('button')?.value
    if (value === 'clear') {
      saveToken(null)
      reload()
    } else if (value === 'cancel') dialog.close()
  })
  return dialog
}

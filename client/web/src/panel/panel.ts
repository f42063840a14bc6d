/**
 * The property panel of the selected object: its type's fields (TYPE_FIELDS and the common
 * ones), each validated on change with the field's schema (the rule shown inline, nothing
 * written when it fails); reparent among the allowed parents; add a child of an allowed
 * type; delete (with everything under it). Values edited elsewhere show at once, except in
 * the field being typed in.
 */
import { subtree } from '../../../../shared/schema/hierarchy.ts'
import { type BuildingObject, type ObjectField, PARENT_TYPES, TYPE_FIELDS } from '../../../../shared/schema/domain.ts'
import { type Editor, select, tryWrite } from '../context.ts'
import { h } from '../dom.ts'
import { childTypes, defaultsFor, newId } from './create.ts'
import { type FieldInput, fieldChange, fieldInput, formatValue } from './fields.ts'

const MAX_PARENTS = 500

export function propertyPanel(editor: Editor): HTMLElement {
  const { site, store } = editor
  const root = h('section', { class: 'panel', 'data-testid': 'panel' })
  let rows = new Map<ObjectField, { input: FieldInput; error: HTMLElement }>()
  let parentSelect: HTMLSelectElement | null = null
  let shownId: string | null = null
  const title = h('span', { class: 'title' })

  const fieldsOf = (o: Readonly<BuildingObject>): ObjectField[] => {
    const spec = TYPE_FIELDS[o.type]
    return ['name', ...spec.required, ...spec.optional, 'tags']
  }

  const commit = (id: string, field: ObjectField) => {
    const row = rows.get(field)
    const object = site.object(id)
    if (!row || !object || editor.readOnly) return
    const change = fieldChange(field, row.input.value, object[field])
    if (change.kind === 'refuse') return showError(field, change.message)
    showError(field, null)
    if (change.kind === 'write') tryWrite(editor, () => site.updateObject(id, change.patch))
  }

  const showError = (field: ObjectField, message: string | null) => {
    const row = rows.get(field)
    if (!row) return
    row.error.textContent = message ?? ''
    row.error.hidden = message === null
    row.input.classList.toggle('invalid', message !== null)
    row.input.setAttribute('aria-invalid', String(message !== null))
  }

  const parentOptions = (id: string, o: Readonly<BuildingObject>): HTMLSelectElement => {
    const allowed = PARENT_TYPES[o.type]
    const under = new Set(subtree(site.hierarchy(), id))
    const options: HTMLOptionElement[] = []
    if (allowed.includes(null)) options.push(h('option', { value: '' }, '(top level)'))
    for (const t of allowed) {
      if (t === null) continue
      for (const e of site.objects(t)) {
        if (under.has(e.id) || options.length >= MAX_PARENTS) continue
        options.push(h('option', { value: e.id }, `${e.object.name} · ${e.id}`))
      }
    }
    const sel = h('select', { 'data-testid': 'parent-select', disabled: editor.readOnly || options.length < 2 }, ...options)
    sel.value = o.parentId ?? ''
    sel.addEventListener('change', () => {
      if (!tryWrite(editor, () => site.moveObject(id, sel.value || null))) sel.value = site.object(id)?.parentId ?? ''
    })
    return sel
  }

  const createButtons = (parentId: string | null): HTMLElement => {
    const parentType = parentId ? (site.object(parentId)?.type ?? null) : null
    const buttons = childTypes(parentType).map((type) => {
      const defaults = defaultsFor(site, type, parentId)
      const b = h(
        'button',
        {
          'data-testid': `create-${type}`,
          disabled: editor.readOnly || defaults === null,
          title: defaults ? `Add a ${type} here` : `A ${type} needs two components in this system`,
        },
        `+ ${type}`,
      )
      b.addEventListener('click', () => {
        const object = defaultsFor(site, type, parentId)
        const id = newId(type)
        if (object && tryWrite(editor, () => site.createObject(id, object))) select(editor, id)
      })
      return b
    })
    return h('div', { class: 'create' }, ...buttons)
  }

  const render = () => {
    const id = store.state.selected
    const object = id ? site.object(id) : null
    shownId = object ? id : null
    rows = new Map()
    parentSelect = null
    if (!id || !object) {
      root.replaceChildren(h('h2', {}, 'Properties'), h('p', { class: 'muted' }, 'Select an object in the tree or on the plan.'), createButtons(null))
      return
    }
    title.textContent = object.name
    const form = h('form', { class: 'fields', autocomplete: 'off' })
    form.addEventListener('submit', (e) => e.preventDefault())
    for (const field of fieldsOf(object)) {
      const input = fieldInput(field)
      input.value = formatValue(field, object[field])
      input.disabled = editor.readOnly
      const error = h('div', { class: 'field-error', 'data-testid': `field-error-${field}`, hidden: true, role: 'alert' })
      input.addEventListener('change', () => commit(id, field))
      input.addEventListener('keydown', (e) => {
        if ((e as KeyboardEvent).key === 'Enter') commit(id, field)
      })
      const required = TYPE_FIELDS[object.type].required.includes(field) || field === 'name'
      form.append(h('label', { for: `field-${field}` }, field, required && h('span', { class: 'req', title: 'required' }, ' *')), input, error)
      rows.set(field, { input, error })
    }
    parentSelect = parentOptions(id, object)
    const del = h('button', { 'data-testid': 'delete', class: 'danger', disabled: editor.readOnly }, 'Delete')
    del.addEventListener('click', () => {
      const parent = site.object(id)?.parentId ?? null
      if (tryWrite(editor, () => site.deleteObject(id))) select(editor, parent)
    })
    root.replaceChildren(
      h('h2', {}, h('span', { class: `type-tag t-${object.type}` }, object.type), ' ', title),
      h('div', { class: 'muted mono', 'data-testid': 'panel-id' }, id),
      form,
      h('label', { class: 'parent' }, 'Parent', parentSelect),
      h('h3', {}, 'Add inside'),
      createButtons(id),
      h('div', { class: 'actions' }, del),
    )
  }

  /** Values changed elsewhere, into every input but the one being typed in (or showing a refusal). */
  const refresh = () => {
    const object = shownId ? site.object(shownId) : null
    if (!shownId || !object) return render()
    title.textContent = object.name
    for (const [field, { input, error }] of rows) {
      if (document.activeElement === input || !error.hidden) continue
      input.value = formatValue(field, object[field])
    }
    if (parentSelect && document.activeElement !== parentSelect) parentSelect.value = object.parentId ?? ''
  }

  store.subscribe((state, before) => {
    if (state.selected !== before.selected) render()
  })
  site.on('objectChanged', (e) => {
    if (e.id === shownId || e.id === store.state.selected) {
      if (e.kind === 'updated') refresh()
      else render()
    }
  })
  site.on('objectsMoved', (e) => {
    if (e.moves.some((m) => m.id === shownId)) refresh()
  })
  render()
  return root
}

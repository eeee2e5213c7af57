import { formatPath, type PathSegment } from './path.js'

/** One leaf that differs between the current and the desired version of an object. */
export interface FieldChange {
  path: string
  before: unknown
  after: unknown
}

/** An object present in the desired set only. */
export interface PlannedCreate<T> {
  id: string
  value: T
}

/** An object present in both sets whose value differs, with the leaves that differ. */
export interface PlannedUpdate<T> {
  id: string
  before: T
  after: T
  fields: FieldChange[]
}

/** An object present in the current set only, removed because the plan prunes. */
export interface PlannedDelete<T> {
  id: string
  value: T
}

/** What applying a desired set of objects to the current set would do, each list sorted by id. */
export interface Plan<T> {
  create: PlannedCreate<T>[]
  update: PlannedUpdate<T>[]
  delete: PlannedDelete<T>[]
  unchanged: string[]
  /** Current objects missing from the desired set that are kept because the plan does not prune. */
  unmanaged: string[]
}

/** Options of {@link planChanges}. */
export interface PlanChangesOptions {
  /** Delete current objects that the desired set does not mention (default false: keep them). */
  prune?: boolean
}

type PlainObject = Record<string, unknown>

function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function collectChanges(
  before: unknown,
  after: unknown,
  path: PathSegment[],
  out: FieldChange[],
): void {
  if (Object.is(before, after)) return
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)])
    for (const key of [...keys].sort()) collectChanges(before[key], after[key], [...path, key], out)
    return
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length)
    for (let i = 0; i < length; i++) collectChanges(before[i], after[i], [...path, i], out)
    return
  }
  out.push({ path: formatPath(path), before, after })
}

/**
 * The leaves that differ between two values. Object keys are compared regardless of order and a
 * key holding `undefined` equals a missing key; arrays are compared index by index. A change of
 * shape (object to array, scalar to object) is one change at that path.
 */
export function diffValues(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = []
  collectChanges(before, after, [], out)
  return out
}

function byId<V extends { id: string }>(a: V, b: V): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * Compares the objects that exist with the objects the config wants, keyed by id. Without
 * `prune`, objects the config no longer mentions are reported as unmanaged and kept, so that
 * applying a partial config (one file of a directory) never deletes what it does not know.
 */
export function planChanges<T>(
  current: Readonly<Record<string, T>>,
  desired: Readonly<Record<string, T>>,
  options: PlanChangesOptions = {},
): Plan<T> {
  const plan: Plan<T> = { create: [], update: [], delete: [], unchanged: [], unmanaged: [] }
  for (const [id, after] of Object.entries(desired)) {
    if (!Object.hasOwn(current, id)) {
      plan.create.push({ id, value: after })
      continue
    }
    const before = current[id] as T
    const fields = diffValues(before, after)
    if (fields.length === 0) plan.unchanged.push(id)
    else plan.update.push({ id, before, after, fields })
  }
  for (const [id, value] of Object.entries(current)) {
    if (Object.hasOwn(desired, id)) continue
    if (options.prune === true) plan.delete.push({ id, value })
    else plan.unmanaged.push(id)
  }
  plan.create.sort(byId)
  plan.update.sort(byId)
  plan.delete.sort(byId)
  plan.unchanged.sort()
  plan.unmanaged.sort()
  return plan
}

/** Whether applying the plan would change anything. */
export function planHasChanges(plan: Plan<unknown>): boolean {
  return plan.create.length + plan.update.length + plan.delete.length > 0
}

/** Options of {@link formatPlan}. */
export interface FormatPlanOptions {
  /** Says which fields hold secrets; their values print as `<redacted>`. */
  isSecret?: (id: string, path: string) => boolean
  /** Append the `Plan: …` summary line (default true). */
  summary?: boolean
}

const maxValueLength = 60

function formatValue(value: unknown): string {
  if (value === undefined) return '(none)'
  const text = typeof value === 'number' ? String(value) : JSON.stringify(value)
  return text.length > maxValueLength ? `${text.slice(0, maxValueLength - 1)}…` : text
}

function typeOf(value: unknown): string | undefined {
  return isPlainObject(value) && typeof value.type === 'string' ? value.type : undefined
}

function secretAware(
  id: string,
  path: string,
  value: unknown,
  isSecret: FormatPlanOptions['isSecret'],
): string {
  if (value !== undefined && isSecret?.(id, path) === true) return '<redacted>'
  return formatValue(value)
}

/** The `Plan: 1 to add, 2 to change, 0 to destroy.` line over one or more plans. */
export function formatPlanSummary(plans: readonly Plan<unknown>[]): string {
  let add = 0
  let change = 0
  let destroy = 0
  for (const plan of plans) {
    add += plan.create.length
    change += plan.update.length
    destroy += plan.delete.length
  }
  return `Plan: ${add} to add, ${change} to change, ${destroy} to destroy.`
}

/**
 * Renders a plan as Terraform-like lines: `+ monitor web-home (http)`, one
 * `~ monitor db-main: interval 60000 → 30000` line per changed field, `- monitor old-one`,
 * a note for each unmanaged object and the summary line.
 */
export function formatPlan<T>(
  plan: Plan<T>,
  kind: string,
  options: FormatPlanOptions = {},
): string[] {
  const lines: string[] = []
  for (const { id, value } of plan.create) {
    const type = typeOf(value)
    lines.push(`+ ${kind} ${id}${type === undefined ? '' : ` (${type})`}`)
  }
  for (const { id, fields } of plan.update) {
    for (const field of fields) {
      const label = field.path === '' ? '' : ` ${field.path}`
      const before = secretAware(id, field.path, field.before, options.isSecret)
      const after = secretAware(id, field.path, field.after, options.isSecret)
      lines.push(`~ ${kind} ${id}:${label} ${before} → ${after}`)
    }
  }
  for (const { id } of plan.delete) lines.push(`- ${kind} ${id}`)
  for (const id of plan.unmanaged) {
    lines.push(`  ${kind} ${id}: not in the config, kept (prune to delete it)`)
  }
  if (options.summary !== false) lines.push(formatPlanSummary([plan as Plan<unknown>]))
  return lines
}

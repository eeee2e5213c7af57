import { randomBytes } from 'node:crypto'
import type { CommandPolicy } from '../checks/command-policy.js'
import {
  describeRules,
  parseMonitorSpec,
  specExecutes,
  specExecutionIssues,
  type MonitorRules,
} from '../checks/registry.js'
import {
  keepRedactedUrlPasswords,
  redactedPlaceholder,
  redactSecrets,
  secretFieldsOf,
} from '../config/redact.js'
import { setPaused } from '../core/checks/index.js'
import { monitorIdSchema } from '../core/checks/index.js'
import { ConflictError, InputError, NotFoundError } from '../core/errors.js'
import { appendAudit } from '../store/audit.js'
import type { Executor } from '../store/dialect.js'
import {
  countMonitorsByState,
  deleteMonitor as deleteMonitorRow,
  getMonitor,
  insertMonitor,
  listMonitors,
  setMonitorPausedFlag,
  setMonitorRuntime,
  updateMonitorSpec,
  type MonitorFilter,
  type StoredMonitor,
} from '../store/monitors.js'
import { listRecentUptime, type RecentUptime } from '../store/uptime.js'
import { recordTransition } from '../engine/recorder.js'
import { recordedMonitor } from '../engine/scheduler.js'
import { requireTeamAccess } from './auth.js'
import type { ServiceContext } from './context.js'
import { readSharedSettings } from './settings.js'

/** A monitor as the API and CLI show it; secrets in its spec are redacted. */
export interface MonitorView {
  id: string
  type: string
  name?: string
  state: string
  stateSince: number
  flapping: boolean
  paused: boolean
  lastCheckedAt?: number
  lastStatus?: string
  lastLatencyMs?: number
  lastMessage?: string
  nextDueAt?: number
  source: string
  /** True when a keel.yaml owns the monitor: edit the file, not the API. */
  managedByConfig: boolean
  spec: Record<string, unknown>
  /** The heartbeat ping path, for heartbeat monitors. */
  pingPath?: string
  createdAt: number
  updatedAt: number
  version: number
  /** Recent uptime, when the list was asked for it. */
  uptime?: RecentUptime
  /** What makes the monitor down or degraded; in the single-monitor read only. */
  rules?: MonitorRules
}

/** Secret values are replaced by this marker in every view. */
export const redacted = redactedPlaceholder

/** Replaces the values of a type's secret fields in a spec. */
export function redactSpec(spec: Record<string, unknown>): Record<string, unknown> {
  return redactSecrets('monitors', spec)
}

/** The view of a stored monitor. */
export function monitorView(row: StoredMonitor): MonitorView {
  const name = typeof row.spec.name === 'string' ? row.spec.name : undefined
  return {
    id: row.slug,
    type: row.type,
    ...(name ? { name } : {}),
    state: row.runtime.state,
    stateSince: row.runtime.since,
    flapping: row.runtime.flapping,
    paused: row.paused,
    ...(row.lastCheckedAt !== undefined ? { lastCheckedAt: row.lastCheckedAt } : {}),
    ...(row.lastStatus !== undefined ? { lastStatus: row.lastStatus } : {}),
    ...(row.lastLatencyMs !== undefined ? { lastLatencyMs: row.lastLatencyMs } : {}),
    ...(row.lastMessage !== undefined ? { lastMessage: row.lastMessage } : {}),
    ...(row.paused ? {} : { nextDueAt: row.nextDueAt }),
    source: row.source,
    managedByConfig: row.source.startsWith('file:'),
    spec: redactSpec(row.spec),
    ...(row.pingToken ? { pingPath: `/ping/${row.pingToken}` } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    version: row.version,
  }
}

/** Validates a monitor spec as written; throws an InputError listing every problem. */
export function validateMonitorSpec(id: string, input: unknown): Record<string, unknown> {
  const idCheck = monitorIdSchema.safeParse(id)
  if (!idCheck.success) {
    throw new InputError(`monitor id ${JSON.stringify(id)}: ${idCheck.error.issues[0]?.message}`)
  }
  const parsed = parseMonitorSpec(input)
  if (!parsed.ok) {
    const lines = parsed.issues.map((i) => `${i.path || '(spec)'}: ${i.message}`)
    throw new InputError(`monitor ${id}: ${lines.join('; ')}`, { details: parsed.issues })
  }
  return input as Record<string, unknown>
}

/**
 * Refuses a spec written through the API whose probe runs a program that keel.yaml does not
 * allow (`checks.commandDirs`; see `apiExecutionIssues`): a 400 naming each field and the fix.
 */
async function refuseApiExecution(
  id: string,
  spec: Record<string, unknown>,
  policy: CommandPolicy | undefined,
): Promise<void> {
  if (!specExecutes(spec)) return
  const parsed = parseMonitorSpec(spec)
  if (!parsed.ok) return
  const issues = await specExecutionIssues(parsed.spec, policy?.commandDirs ?? [])
  if (issues.length === 0) return
  throw new InputError(`monitor \`${id}\`: ${issues.map((issue) => issue.message).join('; ')}`, {
    details: issues,
  })
}

function valueAt(spec: unknown, path: string): unknown {
  let value = spec
  for (const key of path.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as never)[key] : undefined
  }
  return value
}

function withValueAt(
  spec: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(spec)
  const keys = path.split('.')
  let holder = copy as Record<string, unknown>
  for (const key of keys.slice(0, -1)) holder = holder[key] as Record<string, unknown>
  holder[keys[keys.length - 1] as string] = value
  return copy
}

/** The fields that say where a check connects, and so where its secrets are sent. */
const targetFields = ['url', 'host', 'port', 'socket'] as const

/**
 * The submitted spec with each secret the redacted view showed as `<redacted>` put back from the
 * stored spec, so saving an edited view keeps the secret: whole secret fields (a password,
 * `basicAuth.password`, headers) and URL passwords. A whole field comes back only while the type
 * and the target (url, host, port) are unchanged, and a URL password only while the rest of its
 * URL is, so an edit cannot send a kept secret somewhere else. Anything left `<redacted>` is an
 * InputError naming each field: the placeholder is never stored as a secret.
 */
function withStoredSecrets(
  id: string,
  input: unknown,
  stored: Record<string, unknown> | undefined,
): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input
  const submitted = input as Record<string, unknown>
  const fields = secretFieldsOf('monitors', String(submitted.type)).filter(
    (field) => valueAt(submitted, field) === redacted,
  )
  let spec = submitted
  const unresolved: { path: string; message: string }[] = []
  const fieldMessage = `shows as ${redacted}; type the secret again (it is kept only while the type and target are unchanged)`
  if (fields.length > 0) {
    let candidate = submitted
    for (const field of fields) {
      const before = valueAt(stored, field)
      if (stored?.type === submitted.type && before !== undefined) {
        candidate = withValueAt(candidate, field, before)
      }
    }
    const sameTarget =
      stored !== undefined &&
      targetFields.every(
        (key) =>
          JSON.stringify(keepRedactedUrlPasswords(candidate[key], stored[key]).spec) ===
          JSON.stringify(stored[key]),
      )
    if (sameTarget) spec = candidate
    for (const field of fields) {
      if (valueAt(spec, field) === redacted) unresolved.push({ path: field, message: fieldMessage })
    }
  }
  const kept = keepRedactedUrlPasswords(spec, stored)
  const urlMessage = `the URL password shows as ${redacted}; type it again (it is kept only while the rest of the URL is unchanged)`
  for (const path of kept.unresolved) unresolved.push({ path, message: urlMessage })
  if (unresolved.length === 0) return kept.spec
  const lines = unresolved.map((entry) => `${entry.path}: ${entry.message}`)
  throw new InputError(`monitor ${id}: ${lines.join('; ')}`, { details: unresolved })
}

/** A new heartbeat ping token: unguessable, URL-safe. */
export function newPingToken(): string {
  return randomBytes(16).toString('base64url')
}

/** Where a new monitor's first check falls: soon, spread a little so a burst of creates spreads too. */
function firstDue(now: number): number {
  return now + Math.floor(Math.random() * 1_000)
}

/**
 * Creates a monitor from an API or CLI request. A monitor that runs a program is accepted only
 * when `policy` allows that program; without a policy, none is.
 */
export async function createMonitor(
  ctx: ServiceContext,
  id: string,
  input: unknown,
  policy?: CommandPolicy,
): Promise<MonitorView> {
  const spec = validateMonitorSpec(id, withStoredSecrets(id, input, undefined))
  requireTeamAccess(ctx.actor, 'operator', { type: 'monitor', id, team: monitorTeam(spec) })
  await refuseApiExecution(id, spec, policy)
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    if (await getMonitor(trx, id))
      throw new ConflictError(`monitor ${id} already exists; use PUT to replace it`)
    const row = await insertMonitor(
      trx,
      {
        slug: id,
        type: String(spec.type),
        spec,
        source: 'api',
        paused: spec.paused === true,
        ...(spec.type === 'heartbeat' ? { pingToken: newPingToken() } : {}),
      },
      now,
      firstDue(now),
    )
    await audit(trx, ctx, 'monitor.create', id, { after: redactSpec(spec) })
    return monitorView(row)
  })
}

/**
 * Replaces a monitor's spec; monitors owned by a keel.yaml must be changed there instead. A
 * spec that runs a program must be allowed by `policy`, as in `createMonitor`.
 */
export async function updateMonitor(
  ctx: ServiceContext,
  id: string,
  input: unknown,
  policy?: CommandPolicy,
): Promise<MonitorView> {
  // A body without placeholders is checked before the store is read, so it gets a 400 even for a
  // monitor that does not exist; one with placeholders is checked once they are filled in.
  if (!JSON.stringify(input ?? null).includes(redacted)) validateMonitorSpec(id, input)
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    const existing = await getMonitor(trx, id)
    if (!existing) throw new NotFoundError(`monitor ${id} does not exist`)
    requireTeamAccess(ctx.actor, 'operator', {
      type: 'monitor',
      id,
      team: monitorTeam(existing.spec),
    })
    const spec = validateMonitorSpec(id, withStoredSecrets(id, input, existing.spec))
    requireTeamAccess(ctx.actor, 'operator', { type: 'monitor', id, team: monitorTeam(spec) })
    refuseConfigManaged(existing)
    await refuseApiExecution(id, spec, policy)
    const updated = await updateMonitorSpec(
      trx,
      id,
      {
        type: String(spec.type),
        spec,
        source: 'api',
        paused: typeof spec.paused === 'boolean' ? spec.paused : existing.paused,
      },
      now,
    )
    if (!updated) throw new NotFoundError(`monitor ${id} does not exist`)
    await syncPausedState(trx, updated, now)
    await audit(trx, ctx, 'monitor.update', id, {
      before: redactSpec(existing.spec),
      after: redactSpec(spec),
    })
    return monitorView((await getMonitor(trx, id)) as StoredMonitor)
  })
}

/** Deletes a monitor and its history. */
export async function deleteMonitor(ctx: ServiceContext, id: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const existing = await getMonitor(trx, id)
    if (!existing) throw new NotFoundError(`monitor ${id} does not exist`)
    requireTeamAccess(ctx.actor, 'operator', {
      type: 'monitor',
      id,
      team: monitorTeam(existing.spec),
    })
    refuseConfigManaged(existing)
    await deleteMonitorRow(trx, id)
    await audit(trx, ctx, 'monitor.delete', id, { before: redactSpec(existing.spec) })
  })
}

/** Pauses or resumes a monitor (allowed for config-managed ones: it is an operation, not an edit). */
export async function setMonitorPaused(
  ctx: ServiceContext,
  id: string,
  paused: boolean,
): Promise<MonitorView> {
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    const existing = await getMonitor(trx, id)
    if (!existing) throw new NotFoundError(`monitor ${id} does not exist`)
    requireTeamAccess(ctx.actor, 'responder', {
      type: 'monitor',
      id,
      team: monitorTeam(existing.spec),
    })
    const row = (await setMonitorPausedFlag(trx, id, paused, now)) as StoredMonitor
    await syncPausedState(trx, row, now)
    await audit(trx, ctx, paused ? 'monitor.pause' : 'monitor.resume', id, {})
    return monitorView((await getMonitor(trx, id)) as StoredMonitor)
  })
}

/**
 * Moves the runtime into or out of `paused` to match the row's paused flag. Pausing a monitor
 * that is down resolves its alert (and notifies), so a paused monitor never leaves a page open.
 */
export async function syncPausedState(
  trx: Executor,
  row: StoredMonitor,
  now: number,
): Promise<void> {
  const decision = setPaused(row.runtime, row.paused, now)
  if (!decision.transition) return
  await setMonitorRuntime(trx, row.id, decision.runtime, firstDue(now))
  const parsed = parseMonitorSpec(row.spec)
  if (!parsed.ok) return
  const settings = await readSharedSettings(trx)
  await recordTransition(trx, recordedMonitor(row, parsed.spec), decision.transition, {
    defaultChannels: settings.defaultChannels,
    now,
  })
}

/** One monitor's view with its rules, or NotFoundError. */
export async function getMonitorView(
  ctx: Pick<ServiceContext, 'db'>,
  id: string,
): Promise<MonitorView> {
  const row = await getMonitor(ctx.db, id)
  if (!row) throw new NotFoundError(`monitor ${id} does not exist`)
  const view = monitorView(row)
  // A stored spec that no longer validates (an older Keel wrote it) still gets a view.
  const parsed = parseMonitorSpec(row.spec)
  return parsed.ok ? { ...view, rules: describeRules(parsed.spec) } : view
}

/** A page of monitor views and the cursor of the next page. */
export async function listMonitorViews(
  ctx: Pick<ServiceContext, 'db'>,
  filter: MonitorFilter & {
    label?: Record<string, string>
    /** When set, each view carries its `uptime` up to this instant. */
    uptimeAt?: number
  },
): Promise<{ items: MonitorView[]; next?: string }> {
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000)
  const labelFilter =
    filter.label && Object.keys(filter.label).length > 0 ? filter.label : undefined
  const items: MonitorView[] = []
  const rowIds: number[] = []
  let after = filter.after
  // Label filters are applied after reading; read in pages until the page is full.
  for (;;) {
    const rows = await listMonitors(ctx.db, {
      ...filter,
      ...(after ? { after } : {}),
      limit: limit + 1,
    })
    for (const row of rows) {
      if (labelFilter) {
        const labels = (row.spec.labels ?? {}) as Record<string, string>
        if (!Object.entries(labelFilter).every(([k, v]) => labels[k] === v)) continue
      }
      items.push(monitorView(row))
      rowIds.push(row.id)
      if (items.length > limit) break
    }
    if (items.length > limit || rows.length <= limit) break
    after = rows[rows.length - 1]?.slug
  }
  const page = items.slice(0, limit)
  if (filter.uptimeAt !== undefined) {
    const uptime = await listRecentUptime(ctx.db, rowIds.slice(0, limit), filter.uptimeAt)
    page.forEach((view, i) => {
      const recent = uptime.get(rowIds[i] as number)
      if (recent) view.uptime = recent
    })
  }
  return items.length > limit
    ? { items: page, next: page[page.length - 1]?.id as string }
    : { items: page }
}

/** Counts of monitors by state, for the status summary and `keel status`. */
export async function monitorCounts(
  ctx: Pick<ServiceContext, 'db'>,
): Promise<Record<string, number>> {
  return countMonitorsByState(ctx.db)
}

/**
 * Throws NotAllowedError unless the caller may run a monitor's probe now (`check now`): a
 * team-scoped caller needs responder or higher in the monitor's team, as for pause and resume.
 */
export function requireCheckNowAccess(
  ctx: Pick<ServiceContext, 'actor'>,
  row: StoredMonitor,
): void {
  requireTeamAccess(ctx.actor, 'responder', {
    type: 'monitor',
    id: row.slug,
    team: monitorTeam(row.spec),
  })
}

/** The team that owns a monitor: its `team` label (the object team scoping checks). */
function monitorTeam(spec: Record<string, unknown>): string | undefined {
  const labels = spec.labels as Record<string, unknown> | undefined
  return typeof labels?.team === 'string' ? labels.team : undefined
}

function refuseConfigManaged(row: StoredMonitor): void {
  if (row.source.startsWith('file:')) {
    throw new ConflictError(
      `monitor ${row.slug} is managed by ${row.source.slice(5)}; change it there and run keel apply`,
    )
  }
}

/** Appends an audit event for a monitor change. */
async function audit(
  trx: Executor,
  ctx: ServiceContext,
  action: string,
  id: string,
  details: unknown,
): Promise<void> {
  await appendAudit(trx, {
    at: ctx.clock.now(),
    actor: ctx.actor.name,
    action,
    objectType: 'monitor',
    objectId: id,
    ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
    details,
  })
}

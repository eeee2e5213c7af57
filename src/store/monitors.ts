import { sql, type Selectable } from 'kysely'
import type { MonitorRuntime, MonitorState } from '../core/checks/index.js'
import { parseJson, skipLocked, type Executor } from './dialect.js'
import { sealSpec } from './secrets.js'
import type { MonitorRow } from './schema.js'

/** A monitor as stored: its spec as written (input form) plus its runtime. */
export interface StoredMonitor {
  id: number
  slug: string
  type: string
  /** The spec as the operator wrote it (durations unparsed), so it re-validates identically. */
  spec: Record<string, unknown>
  source: string
  paused: boolean
  createdAt: number
  updatedAt: number
  version: number
  runtime: MonitorRuntime
  lastCheckedAt?: number
  lastStatus?: string
  lastLatencyMs?: number
  lastMessage?: string
  nextDueAt: number
  leaseOwner?: string
  leaseUntil?: number
  pingToken?: string
  lastPingAt?: number
}

/** What creating or replacing a monitor needs. */
export interface MonitorInput {
  slug: string
  type: string
  spec: Record<string, unknown>
  source: string
  paused: boolean
  pingToken?: string
}

/** Filters for listing monitors; `after` is the slug of the last row of the previous page. */
export interface MonitorFilter {
  type?: string
  state?: MonitorState
  source?: string
  after?: string
  limit?: number
}

function monitorFromRow(row: Selectable<MonitorRow>): StoredMonitor {
  return {
    id: row.id,
    slug: row.slug,
    type: row.type,
    spec: parseJson(row.spec, {}),
    source: row.source,
    paused: row.paused === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    runtime: {
      state: row.state as MonitorState,
      since: row.state_since,
      consecutiveFailures: row.consecutive_failures,
      consecutiveSuccesses: row.consecutive_successes,
      history: row.history,
      flapping: row.flapping === 1,
    },
    lastCheckedAt: row.last_checked_at ?? undefined,
    lastStatus: row.last_status ?? undefined,
    lastLatencyMs: row.last_latency_ms ?? undefined,
    lastMessage: row.last_message ?? undefined,
    nextDueAt: row.next_due_at,
    leaseOwner: row.lease_owner ?? undefined,
    leaseUntil: row.lease_until ?? undefined,
    pingToken: row.ping_token ?? undefined,
    lastPingAt: row.last_ping_at ?? undefined,
  }
}

/** Creates a monitor in `pending` (or `paused`) state, due at `nextDueAt`. */
export async function insertMonitor(
  db: Executor,
  input: MonitorInput,
  now: number,
  nextDueAt: number,
): Promise<StoredMonitor> {
  const row = await db
    .insertInto('monitors')
    .values({
      slug: input.slug,
      type: input.type,
      spec: JSON.stringify(sealSpec(db, 'monitors', input.type, input.spec)),
      source: input.source,
      paused: input.paused ? 1 : 0,
      created_at: now,
      updated_at: now,
      version: 1,
      state: input.paused ? 'paused' : 'pending',
      state_since: now,
      consecutive_failures: 0,
      consecutive_successes: 0,
      history: '',
      flapping: 0,
      next_due_at: nextDueAt,
      ping_token: input.pingToken ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return monitorFromRow(row)
}

/** Replaces a monitor's spec and source, bumping its version; the runtime is kept. */
export async function updateMonitorSpec(
  db: Executor,
  slug: string,
  input: Omit<MonitorInput, 'slug' | 'pingToken'>,
  now: number,
): Promise<StoredMonitor | undefined> {
  const row = await db
    .updateTable('monitors')
    .set({
      type: input.type,
      spec: JSON.stringify(sealSpec(db, 'monitors', input.type, input.spec)),
      source: input.source,
      paused: input.paused ? 1 : 0,
      updated_at: now,
      version: sql<number>`version + 1`,
    })
    .where('slug', '=', slug)
    .returningAll()
    .executeTakeFirst()
  return row ? monitorFromRow(row) : undefined
}

/** Deletes a monitor with its results, roll-ups, state history and pings. */
export async function deleteMonitor(db: Executor, slug: string): Promise<boolean> {
  const row = await db
    .selectFrom('monitors')
    .select('id')
    .where('slug', '=', slug)
    .executeTakeFirst()
  if (!row) return false
  await db.deleteFrom('check_results').where('monitor_id', '=', row.id).execute()
  await db.deleteFrom('result_rollups').where('monitor_id', '=', row.id).execute()
  await db.deleteFrom('state_changes').where('monitor_id', '=', row.id).execute()
  await db.deleteFrom('heartbeat_pings').where('monitor_id', '=', row.id).execute()
  await db.deleteFrom('monitors').where('id', '=', row.id).execute()
  return true
}

/** One monitor by slug. */
export async function getMonitor(db: Executor, slug: string): Promise<StoredMonitor | undefined> {
  const row = await db
    .selectFrom('monitors')
    .selectAll()
    .where('slug', '=', slug)
    .executeTakeFirst()
  return row ? monitorFromRow(row) : undefined
}

/** One monitor by its heartbeat ping token. */
export async function getMonitorByPingToken(
  db: Executor,
  token: string,
): Promise<StoredMonitor | undefined> {
  const row = await db
    .selectFrom('monitors')
    .selectAll()
    .where('ping_token', '=', token)
    .executeTakeFirst()
  return row ? monitorFromRow(row) : undefined
}

/** Monitors ordered by slug, filtered, one page at a time (keyset pagination on slug). */
export async function listMonitors(
  db: Executor,
  filter: MonitorFilter = {},
): Promise<StoredMonitor[]> {
  let query = db.selectFrom('monitors').selectAll().orderBy('slug')
  if (filter.type) query = query.where('type', '=', filter.type)
  if (filter.state) query = query.where('state', '=', filter.state)
  if (filter.source) query = query.where('source', '=', filter.source)
  if (filter.after) query = query.where('slug', '>', filter.after)
  if (filter.limit) query = query.limit(filter.limit)
  const rows = await query.execute()
  return rows.map(monitorFromRow)
}

/** Monitors whose spec changed after `since` (by `updated_at`), for nodes reloading specs. */
export async function listMonitorsUpdatedSince(
  db: Executor,
  since: number,
): Promise<StoredMonitor[]> {
  const rows = await db
    .selectFrom('monitors')
    .selectAll()
    .where('updated_at', '>', since)
    .orderBy('updated_at')
    .execute()
  return rows.map(monitorFromRow)
}

/** The columns the live event stream compares between polls to tell that a monitor changed. */
export interface MonitorStamp {
  slug: string
  state: string
  stateSince: number
  lastCheckedAt?: number
  paused: boolean
  flapping: boolean
  version: number
}

/**
 * Every monitor's stamp or, with `since`, only those checked, changing state or edited at or
 * after it (by `last_checked_at`, `state_since` or `updated_at`).
 */
export async function listMonitorStamps(db: Executor, since?: number): Promise<MonitorStamp[]> {
  let query = db
    .selectFrom('monitors')
    .select(['slug', 'state', 'state_since', 'last_checked_at', 'paused', 'flapping', 'version'])
  if (since !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('last_checked_at', '>=', since),
        eb('state_since', '>=', since),
        eb('updated_at', '>=', since),
      ]),
    )
  }
  const rows = await query.execute()
  return rows.map((row) => ({
    slug: row.slug,
    state: row.state,
    stateSince: row.state_since,
    ...(row.last_checked_at !== null ? { lastCheckedAt: row.last_checked_at } : {}),
    paused: row.paused === 1,
    flapping: row.flapping === 1,
    version: row.version,
  }))
}

/** Monitors by slug, in no particular order; unknown slugs are left out. */
export async function getMonitorsBySlugs(
  db: Executor,
  slugs: readonly string[],
): Promise<StoredMonitor[]> {
  const out: StoredMonitor[] = []
  for (let i = 0; i < slugs.length; i += 500) {
    const rows = await db
      .selectFrom('monitors')
      .selectAll()
      .where('slug', 'in', slugs.slice(i, i + 500))
      .execute()
    out.push(...rows.map(monitorFromRow))
  }
  return out
}

/** Every monitor slug, to notice deletions. */
export async function listMonitorSlugs(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('monitors').select('slug').execute()
  return rows.map((r) => r.slug)
}

/** How many monitors are in each state. */
export async function countMonitorsByState(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('monitors')
    .select(['state', db.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute()
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]))
}

/**
 * Leases up to `limit` unleased (or expired-lease) monitors to `owner` until `now + leaseMs`.
 * On PostgreSQL concurrent nodes skip each other's locked rows, so each monitor has one owner.
 */
export async function claimMonitors(
  db: Executor,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<StoredMonitor[]> {
  const candidates = db
    .selectFrom('monitors')
    .select('id')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('id')
    .limit(limit)
    .modifyEnd(skipLocked(db))
  const rows = await db
    .updateTable('monitors')
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where('id', 'in', candidates)
    .returningAll()
    .execute()
  return rows.map(monitorFromRow)
}

/** Extends every unexpired lease `owner` holds; returns the ids it still holds. */
export async function renewMonitorLeases(
  db: Executor,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<number[]> {
  const rows = await db
    .updateTable('monitors')
    .set({ lease_until: now + leaseMs })
    .where('lease_owner', '=', owner)
    .where('lease_until', '>=', now)
    .returning('id')
    .execute()
  return rows.map((r) => r.id)
}

/** Gives up every lease `owner` holds (on shutdown), so another node can take over at once. */
export async function releaseMonitorLeases(db: Executor, owner: string): Promise<void> {
  await db
    .updateTable('monitors')
    .set({ lease_owner: null, lease_until: null })
    .where('lease_owner', '=', owner)
    .execute()
}

/** The runtime columns written after each check. */
export interface RuntimeUpdate {
  monitorId: number
  runtime: MonitorRuntime
  checkedAt: number
  status: string
  latencyMs: number
  message: string
  nextDueAt: number
}

/** Writes a monitor's runtime after a check. */
export async function saveRuntime(db: Executor, update: RuntimeUpdate): Promise<void> {
  await db
    .updateTable('monitors')
    .set({
      state: update.runtime.state,
      state_since: update.runtime.since,
      consecutive_failures: update.runtime.consecutiveFailures,
      consecutive_successes: update.runtime.consecutiveSuccesses,
      history: update.runtime.history,
      flapping: update.runtime.flapping ? 1 : 0,
      last_checked_at: update.checkedAt,
      last_status: update.status,
      last_latency_ms: update.latencyMs,
      last_message: update.message,
      next_due_at: update.nextDueAt,
    })
    .where('id', '=', update.monitorId)
    .execute()
}

/** Sets only the runtime state (pause/resume), leaving the last result as it was. */
export async function setMonitorRuntime(
  db: Executor,
  monitorId: number,
  runtime: MonitorRuntime,
  nextDueAt: number,
): Promise<void> {
  await db
    .updateTable('monitors')
    .set({
      state: runtime.state,
      state_since: runtime.since,
      consecutive_failures: runtime.consecutiveFailures,
      consecutive_successes: runtime.consecutiveSuccesses,
      history: runtime.history,
      flapping: runtime.flapping ? 1 : 0,
      paused: runtime.state === 'paused' ? 1 : 0,
      next_due_at: nextDueAt,
    })
    .where('id', '=', monitorId)
    .execute()
}

/** Records when a heartbeat monitor last pinged. */
export async function setLastPing(db: Executor, monitorId: number, at: number): Promise<void> {
  await db.updateTable('monitors').set({ last_ping_at: at }).where('id', '=', monitorId).execute()
}

/** Monitors by numeric id (for a node loading the rows it holds leases on). */
export async function getMonitorsByIds(
  db: Executor,
  ids: readonly number[],
): Promise<StoredMonitor[]> {
  const out: StoredMonitor[] = []
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('monitors')
      .selectAll()
      .where('id', 'in', ids.slice(i, i + 500))
      .execute()
    out.push(...rows.map(monitorFromRow))
  }
  return out
}

/** Sets the paused flag alone (an operation, not an edit of the spec) and bumps the version. */
export async function setMonitorPausedFlag(
  db: Executor,
  slug: string,
  paused: boolean,
  now: number,
): Promise<StoredMonitor | undefined> {
  const row = await db
    .updateTable('monitors')
    .set({ paused: paused ? 1 : 0, updated_at: now, version: sql<number>`version + 1` })
    .where('slug', '=', slug)
    .returningAll()
    .executeTakeFirst()
  return row ? monitorFromRow(row) : undefined
}

import type { Selectable } from 'kysely'
import type { CheckResult, CheckStatus, Metric } from '../core/checks/index.js'
import { parseJson, type Executor } from './dialect.js'
import type { CheckResultRow, StateChangeRow } from './schema.js'

const statusCode: Record<CheckStatus, number> = { up: 0, degraded: 1, down: 2 }
const statusName: CheckStatus[] = ['up', 'degraded', 'down']

/** A raw result row to insert; the monitor is named by its numeric id. */
export interface ResultInsert {
  monitorId: number
  checkedAt: number
  status: CheckStatus
  latencyMs: number
  message: string
  metrics?: Metric[]
}

/** A stored raw result. */
export interface StoredResult extends Omit<CheckResult, 'monitorId'> {
  id: number
  monitorId: number
}

function resultFromRow(row: Selectable<CheckResultRow>): StoredResult {
  const metrics = parseJson<Metric[] | undefined>(row.metrics, undefined)
  return {
    id: row.id,
    monitorId: row.monitor_id,
    checkedAt: row.checked_at,
    status: statusName[row.status] ?? 'down',
    latencyMs: row.latency_ms,
    message: row.message ?? '',
    ...(metrics ? { metrics } : {}),
  }
}

/**
 * Inserts raw results in one statement. A successful result's message is not kept: the runtime
 * row holds the latest one, and dropping the repeats keeps the raw table a few bytes per check.
 */
export async function insertResults(db: Executor, results: readonly ResultInsert[]): Promise<void> {
  // SQLite allows 32766 bound parameters; 6 per row keeps a chunk well inside that.
  for (let i = 0; i < results.length; i += 1000) {
    const chunk = results.slice(i, i + 1000)
    await db
      .insertInto('check_results')
      .values(
        chunk.map((r) => ({
          monitor_id: r.monitorId,
          checked_at: r.checkedAt,
          status: statusCode[r.status],
          latency_ms: Math.round(r.latencyMs * 100) / 100,
          message: r.status === 'up' ? null : r.message.slice(0, 1000),
          metrics: r.metrics && r.metrics.length > 0 ? JSON.stringify(r.metrics) : null,
        })),
      )
      .execute()
  }
}

/** Raw results of one monitor, newest first, before `before` (exclusive) when given. */
export async function listResults(
  db: Executor,
  monitorId: number,
  options: { before?: number; since?: number; limit?: number } = {},
): Promise<StoredResult[]> {
  let query = db
    .selectFrom('check_results')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .orderBy('checked_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
  if (options.before !== undefined) query = query.where('checked_at', '<', options.before)
  if (options.since !== undefined) query = query.where('checked_at', '>=', options.since)
  return (await query.execute()).map(resultFromRow)
}

/** Raw results of every monitor in `[from, to)`, ordered by monitor then time, for roll-ups. */
export async function listResultsBetween(
  db: Executor,
  from: number,
  to: number,
): Promise<StoredResult[]> {
  const rows = await db
    .selectFrom('check_results')
    .selectAll()
    .where('checked_at', '>=', from)
    .where('checked_at', '<', to)
    .orderBy('monitor_id')
    .orderBy('checked_at')
    .execute()
  return rows.map(resultFromRow)
}

/** Deletes raw results older than `before`; returns how many went. */
export async function deleteResultsBefore(db: Executor, before: number): Promise<number> {
  const result = await db
    .deleteFrom('check_results')
    .where('checked_at', '<', before)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** A confirmed state change of a monitor. */
export interface StateChange {
  id: number
  monitorId: number
  at: number
  from: string
  to: string
  message: string
  flapping: boolean
}

function stateChangeFromRow(row: Selectable<StateChangeRow>): StateChange {
  return {
    id: row.id,
    monitorId: row.monitor_id,
    at: row.at,
    from: row.from_state,
    to: row.to_state,
    message: row.message,
    flapping: row.flapping === 1,
  }
}

/** Appends one state change to a monitor's history. */
export async function insertStateChange(
  db: Executor,
  change: Omit<StateChange, 'id'>,
): Promise<void> {
  await db
    .insertInto('state_changes')
    .values({
      monitor_id: change.monitorId,
      at: change.at,
      from_state: change.from,
      to_state: change.to,
      message: change.message.slice(0, 1000),
      flapping: change.flapping ? 1 : 0,
    })
    .execute()
}

/** A monitor's state history, newest first. */
export async function listStateChanges(
  db: Executor,
  monitorId: number,
  options: { before?: number; limit?: number } = {},
): Promise<StateChange[]> {
  let query = db
    .selectFrom('state_changes')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
  if (options.before !== undefined) query = query.where('at', '<', options.before)
  return (await query.execute()).map(stateChangeFromRow)
}

/** One heartbeat ping as received. */
export interface HeartbeatPing {
  monitorId: number
  receivedAt: number
  kind: 'success' | 'start' | 'fail' | 'exit'
  exitStatus?: number
  body?: string
  source?: string
}

/** Stores one heartbeat ping. */
export async function insertPing(db: Executor, ping: HeartbeatPing): Promise<void> {
  await db
    .insertInto('heartbeat_pings')
    .values({
      monitor_id: ping.monitorId,
      received_at: ping.receivedAt,
      kind: ping.kind,
      exit_status: ping.exitStatus ?? null,
      body: ping.body ?? null,
      source: ping.source ?? null,
    })
    .execute()
}

/** A heartbeat monitor's pings, newest first. */
export async function listPings(
  db: Executor,
  monitorId: number,
  limit = 50,
): Promise<HeartbeatPing[]> {
  const rows = await db
    .selectFrom('heartbeat_pings')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    monitorId: r.monitor_id,
    receivedAt: r.received_at,
    kind: r.kind as HeartbeatPing['kind'],
    ...(r.exit_status !== null ? { exitStatus: r.exit_status } : {}),
    ...(r.body !== null ? { body: r.body } : {}),
    ...(r.source !== null ? { source: r.source } : {}),
  }))
}

/** Deletes pings older than `before`. */
export async function deletePingsBefore(db: Executor, before: number): Promise<number> {
  const result = await db
    .deleteFrom('heartbeat_pings')
    .where('received_at', '<', before)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

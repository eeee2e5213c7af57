import { mergeRollups, summarizeResults, type RollupStats } from '../core/checks/index.js'
import type { Db } from '../store/dialect.js'
import { getMeta, setMeta, tryAcquireJobLease } from '../store/meta.js'
import { deletePingsBefore, deleteResultsBefore, listResultsBetween } from '../store/results.js'
import {
  bucketMs,
  deleteRollupsBefore,
  listRollups,
  upsertRollups,
  type Resolution,
  type Rollup,
} from '../store/rollups.js'

/** How long each kind of data is kept (ms). */
export interface RetentionPolicy {
  raw: number
  minute: number
  hour: number
  day: number
}

/** What one pass rolled up and deleted. */
export interface RetentionReport {
  minutesRolled: number
  hoursRolled: number
  daysRolled: number
  deleted: { raw: number; minute: number; hour: number; day: number; pings: number }
}

// Results are recorded by start time and written in batches; wait this long before closing a minute.
const settleMs = 90_000
// Bound one pass's work so a long-stopped node catches up in steps instead of one huge query.
const maxMinutesPerPass = 120

function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step
}

function groupRollups(
  items: readonly { monitorId: number; at: number; stats: RollupStats }[],
  resolution: Resolution,
): Rollup[] {
  const groups = new Map<string, { monitorId: number; bucketStart: number; parts: RollupStats[] }>()
  for (const item of items) {
    const bucketStart = floorTo(item.at, bucketMs[resolution])
    const key = `${item.monitorId}:${bucketStart}`
    let group = groups.get(key)
    if (!group) {
      group = { monitorId: item.monitorId, bucketStart, parts: [] }
      groups.set(key, group)
    }
    group.parts.push(item.stats)
  }
  return [...groups.values()].map((g) => ({
    monitorId: g.monitorId,
    resolution,
    bucketStart: g.bucketStart,
    ...mergeRollups(g.parts),
  }))
}

async function rollMinutes(db: Db, now: number): Promise<number> {
  const end = floorTo(now - settleMs, bucketMs.m)
  const stored = await getMeta(db, 'rollup:m')
  let from = stored === undefined ? undefined : Number(stored)
  if (from === undefined) {
    const oldest = await db
      .selectFrom('check_results')
      .select((eb) => eb.fn.min('checked_at').as('t'))
      .executeTakeFirst()
    from = oldest?.t == null ? end : floorTo(Number(oldest.t), bucketMs.m)
  }
  const to = Math.min(end, from + maxMinutesPerPass * bucketMs.m)
  if (to <= from) return 0
  const rows = await listResultsBetween(db, from, to)
  const groups = new Map<string, { monitorId: number; bucketStart: number; rows: typeof rows }>()
  for (const row of rows) {
    const bucketStart = floorTo(row.checkedAt, bucketMs.m)
    const key = `${row.monitorId}:${bucketStart}`
    let group = groups.get(key)
    if (!group) {
      group = { monitorId: row.monitorId, bucketStart, rows: [] }
      groups.set(key, group)
    }
    group.rows.push(row)
  }
  const rollups: Rollup[] = [...groups.values()].map((g) => ({
    monitorId: g.monitorId,
    resolution: 'm',
    bucketStart: g.bucketStart,
    ...summarizeResults(g.rows),
  }))
  await db.transaction().execute(async (trx) => {
    await upsertRollups(trx, rollups)
    await setMeta(trx, 'rollup:m', String(to))
  })
  return (to - from) / bucketMs.m
}

async function rollCoarser(db: Db, resolution: 'h' | 'd', finer: 'm' | 'h'): Promise<number> {
  const finerDone = await getMeta(db, `rollup:${finer}`)
  if (finerDone === undefined) return 0
  const end = floorTo(Number(finerDone), bucketMs[resolution])
  const stored = await getMeta(db, `rollup:${resolution}`)
  const first = await db
    .selectFrom('result_rollups')
    .select((eb) => eb.fn.min('bucket_start').as('t'))
    .where('resolution', '=', finer)
    .executeTakeFirst()
  const from =
    stored !== undefined
      ? Number(stored)
      : first?.t == null
        ? end
        : floorTo(Number(first.t), bucketMs[resolution])
  if (end <= from) return 0
  const parts = await listRollups(db, finer, from, end)
  const rollups = groupRollups(
    parts.map((p) => ({ monitorId: p.monitorId, at: p.bucketStart, stats: p })),
    resolution,
  )
  await db.transaction().execute(async (trx) => {
    await upsertRollups(trx, rollups)
    await setMeta(trx, `rollup:${resolution}`, String(end))
  })
  return (end - from) / bucketMs[resolution]
}

/**
 * One pass of the retention job: closes finished minutes from raw results, hours from minutes and
 * days from hours, then deletes what is older than the policy keeps. Raw rows are never deleted
 * before they were rolled up. Runs on one node at a time (a job lease).
 */
export async function runRetention(
  db: Db,
  policy: RetentionPolicy,
  now: number,
  owner: string,
): Promise<RetentionReport | undefined> {
  if (!(await tryAcquireJobLease(db, 'retention', owner, now, 5 * 60_000))) return undefined
  const minutesRolled = await rollMinutes(db, now)
  const hoursRolled = await rollCoarser(db, 'h', 'm')
  const daysRolled = await rollCoarser(db, 'd', 'h')
  const minuteDone = Number((await getMeta(db, 'rollup:m')) ?? 0)
  const deleted = {
    raw: await deleteResultsBefore(db, Math.min(now - policy.raw, minuteDone)),
    minute: await deleteRollupsBefore(db, 'm', now - policy.minute),
    hour: await deleteRollupsBefore(db, 'h', now - policy.hour),
    day: await deleteRollupsBefore(db, 'd', now - policy.day),
    pings: await deletePingsBefore(db, now - Math.max(policy.hour, 7 * 86_400_000)),
  }
  return { minutesRolled, hoursRolled, daysRolled, deleted }
}

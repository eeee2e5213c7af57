import { sql } from 'kysely'
import type { Executor } from './dialect.js'

const hourMs = 3_600_000
const dayMs = 86_400_000
/** Raw status code of a `down` result (0 up, 1 degraded, 2 down). */
const downCode = 2

/** Checks and failures of one hour; `count` 0 means no check ran. */
export interface UptimeHour {
  start: number
  count: number
  failures: number
}

/** A monitor's recent uptime: ratios of checks not down, or undefined when nothing ran. */
export interface RecentUptime {
  /** The 24 hours up to now, the current one included, oldest first. */
  hours: UptimeHour[]
  last24h?: number
  /** The 30 UTC days up to now, today included. */
  last30d?: number
}

function hourOf(column: 'bucket_start' | 'checked_at') {
  return sql<number>`(${sql.ref(column)} - (${sql.ref(column)} % ${sql.lit(hourMs)}))`
}

function ratio(count: number, failures: number): number | undefined {
  return count === 0 ? undefined : (count - failures) / count
}

/**
 * Uptime over the last 24 hours (per hour) and 30 days of each monitor, by row id, in one query
 * whatever the number of monitors. Like the status page it reads the coarsest data that covers
 * each range, so no check is counted twice: day roll-ups up to the last rolled day, hour roll-ups
 * up to the last rolled hour, minute roll-ups summed per hour after that, and raw results after
 * the last rolled minute (the retention job's watermarks).
 */
export async function listRecentUptime(
  db: Executor,
  monitorIds: readonly number[],
  now: number,
): Promise<Map<number, RecentUptime>> {
  const out = new Map<number, RecentUptime>()
  if (monitorIds.length === 0) return out
  const ids = [...monitorIds]
  const firstHour = Math.floor(now / hourMs) * hourMs - 23 * hourMs
  const firstDay = Math.floor(now / dayMs) * dayMs - 29 * dayMs
  const marks = new Map(
    (
      await db
        .selectFrom('keel_meta')
        .select(['key', 'value'])
        .where('key', 'in', ['rollup:d', 'rollup:h', 'rollup:m'])
        .execute()
    ).map((row) => [row.key, Number(row.value)]),
  )
  // Each watermark is clamped into the window and never behind the coarser one.
  const dayDone = Math.min(now, Math.max(firstDay, marks.get('rollup:d') ?? firstDay))
  const hourDone = Math.max(dayDone, Math.min(now, marks.get('rollup:h') ?? dayDone))
  const minuteDone = Math.max(hourDone, Math.min(now, marks.get('rollup:m') ?? hourDone))
  // The hourly series must reach back 24 hours even when days are rolled up past its start.
  const hoursFrom = Math.min(dayDone, firstHour)

  const rows = await db
    .selectFrom('result_rollups')
    .select([
      'monitor_id',
      sql<string>`'d'`.as('kind'),
      'bucket_start as bucket',
      'count',
      'failures',
    ])
    .where('resolution', '=', 'd')
    .where('monitor_id', 'in', ids)
    .where('bucket_start', '>=', firstDay)
    .where('bucket_start', '<', dayDone)
    .unionAll(
      db
        .selectFrom('result_rollups')
        .select([
          'monitor_id',
          sql<string>`'h'`.as('kind'),
          'bucket_start as bucket',
          'count',
          'failures',
        ])
        .where('resolution', '=', 'h')
        .where('monitor_id', 'in', ids)
        .where('bucket_start', '>=', hoursFrom)
        .where('bucket_start', '<', hourDone),
    )
    .unionAll(
      db
        .selectFrom('result_rollups')
        .select((eb) => [
          'monitor_id',
          sql<string>`'h'`.as('kind'),
          hourOf('bucket_start').as('bucket'),
          eb.fn.sum<number>('count').as('count'),
          eb.fn.sum<number>('failures').as('failures'),
        ])
        .where('resolution', '=', 'm')
        .where('monitor_id', 'in', ids)
        .where('bucket_start', '>=', hourDone)
        .where('bucket_start', '<', minuteDone)
        .groupBy(['monitor_id', sql`3`]),
    )
    .unionAll(
      db
        .selectFrom('check_results')
        .select((eb) => [
          'monitor_id',
          sql<string>`'h'`.as('kind'),
          hourOf('checked_at').as('bucket'),
          eb.fn.countAll<number>().as('count'),
          eb.fn
            .sum<number>(eb.case().when('status', '=', downCode).then(1).else(0).end())
            .as('failures'),
        ])
        .where('monitor_id', 'in', ids)
        .where('checked_at', '>=', minuteDone)
        .where('checked_at', '<=', now)
        .groupBy(['monitor_id', sql`3`]),
    )
    .execute()

  const totals = new Map<number, { day: [number, number]; month: [number, number] }>()
  const hours = new Map<number, Map<number, [number, number]>>()
  for (const id of ids) {
    totals.set(id, { day: [0, 0], month: [0, 0] })
    hours.set(id, new Map())
  }
  for (const row of rows) {
    const id = Number(row.monitor_id)
    const bucket = Number(row.bucket)
    const count = Number(row.count)
    const failures = Number(row.failures)
    const total = totals.get(id)
    if (!total) continue
    if (row.kind === 'd' || bucket >= dayDone) {
      total.month[0] += count
      total.month[1] += failures
    }
    if (row.kind === 'h' && bucket >= firstHour) {
      total.day[0] += count
      total.day[1] += failures
      const byHour = hours.get(id) as Map<number, [number, number]>
      const seen = byHour.get(bucket) ?? [0, 0]
      byHour.set(bucket, [seen[0] + count, seen[1] + failures])
    }
  }
  for (const id of ids) {
    const total = totals.get(id) as { day: [number, number]; month: [number, number] }
    const byHour = hours.get(id) as Map<number, [number, number]>
    const last24h = ratio(...total.day)
    const last30d = ratio(...total.month)
    out.set(id, {
      hours: Array.from({ length: 24 }, (_, i) => {
        const start = firstHour + i * hourMs
        const [count, failures] = byHour.get(start) ?? [0, 0]
        return { start, count, failures }
      }),
      ...(last24h !== undefined ? { last24h } : {}),
      ...(last30d !== undefined ? { last30d } : {}),
    })
  }
  return out
}

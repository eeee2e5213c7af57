import type { RollupStats } from '../core/checks/index.js'
import type { Executor } from './dialect.js'

/** Bucket sizes Keel keeps: minute, hour and day. */
export type Resolution = 'm' | 'h' | 'd'

/** The length of each resolution's bucket in ms. */
export const bucketMs: Record<Resolution, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** One monitor's aggregates for one bucket. */
export interface Rollup extends RollupStats {
  monitorId: number
  resolution: Resolution
  bucketStart: number
}

/** Inserts or replaces roll-up rows (re-running a roll-up over the same range is harmless). */
export async function upsertRollups(db: Executor, rollups: readonly Rollup[]): Promise<void> {
  for (let i = 0; i < rollups.length; i += 500) {
    const chunk = rollups.slice(i, i + 500)
    await db
      .insertInto('result_rollups')
      .values(
        chunk.map((r) => ({
          monitor_id: r.monitorId,
          resolution: r.resolution,
          bucket_start: r.bucketStart,
          count: r.count,
          failures: r.failures,
          degraded: r.degraded,
          latency_sum: r.latencySum,
          latency_p50: r.latencyP50,
          latency_p95: r.latencyP95,
          latency_max: r.latencyMax,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['monitor_id', 'resolution', 'bucket_start']).doUpdateSet((eb) => ({
          count: eb.ref('excluded.count'),
          failures: eb.ref('excluded.failures'),
          degraded: eb.ref('excluded.degraded'),
          latency_sum: eb.ref('excluded.latency_sum'),
          latency_p50: eb.ref('excluded.latency_p50'),
          latency_p95: eb.ref('excluded.latency_p95'),
          latency_max: eb.ref('excluded.latency_max'),
        })),
      )
      .execute()
  }
}

/** Roll-ups of one resolution in `[from, to)`, for one monitor or all, ordered by monitor and time. */
export async function listRollups(
  db: Executor,
  resolution: Resolution,
  from: number,
  to: number,
  monitorId?: number,
): Promise<Rollup[]> {
  let query = db
    .selectFrom('result_rollups')
    .selectAll()
    .where('resolution', '=', resolution)
    .where('bucket_start', '>=', from)
    .where('bucket_start', '<', to)
    .orderBy('monitor_id')
    .orderBy('bucket_start')
  if (monitorId !== undefined) query = query.where('monitor_id', '=', monitorId)
  const rows = await query.execute()
  return rows.map((r) => ({
    monitorId: r.monitor_id,
    resolution: r.resolution as Resolution,
    bucketStart: r.bucket_start,
    count: r.count,
    failures: r.failures,
    degraded: r.degraded,
    latencySum: r.latency_sum,
    latencyP50: r.latency_p50,
    latencyP95: r.latency_p95,
    latencyMax: r.latency_max,
  }))
}

/** Deletes roll-ups of one resolution older than `before`. */
export async function deleteRollupsBefore(
  db: Executor,
  resolution: Resolution,
  before: number,
): Promise<number> {
  const result = await db
    .deleteFrom('result_rollups')
    .where('resolution', '=', resolution)
    .where('bucket_start', '<', before)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

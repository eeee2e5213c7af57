import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import type { Store } from '../store/dialect.js'
import { getMeta } from '../store/meta.js'
import { insertMonitor } from '../store/monitors.js'
import { insertResults, listResults } from '../store/results.js'
import { listRollups } from '../store/rollups.js'
import { runRetention } from './retention.js'

const hour = 3_600_000
const minute = 60_000
const t0 = Date.UTC(2026, 10, 20, 0, 0, 0)
const policy = { raw: hour, minute: 6 * hour, hour: 90 * 24 * hour, day: 730 * 24 * hour }

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`retention on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let monitorId: number

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      monitorId = (
        await insertMonitor(
          store.db,
          {
            slug: 'web',
            type: 'http',
            spec: { type: 'http', url: 'http://127.0.0.1/' },
            source: 'api',
            paused: false,
          },
          t0,
          t0,
        )
      ).id
      // Three hours of checks every 20 s; latency 10..29 ms repeating; every 30th check is down.
      const results = []
      for (let i = 0; i < (3 * hour) / 20_000; i++) {
        results.push({
          monitorId,
          checkedAt: t0 + i * 20_000,
          status: i % 30 === 29 ? ('down' as const) : ('up' as const),
          latencyMs: 10 + (i % 20),
          message: 'x',
        })
      }
      await insertResults(store.db, results)
    })
    afterEach(async () => cleanup())

    it('rolls settled minutes into minute buckets with exact counts and percentiles', async () => {
      const now = t0 + 3 * hour + 5 * minute
      const report = await runRetention(store.db, policy, now, 'node-a')
      expect(report?.minutesRolled).toBeGreaterThan(0)
      const minutes = await listRollups(store.db, 'm', t0, t0 + 2 * minute, monitorId)
      expect(minutes.map((m) => m.count)).toEqual([3, 3])
      // Minute 0 holds latencies 10, 11, 12: nearest-rank p50 is 11, max 12.
      expect(minutes[0]).toMatchObject({
        latencyP50: 11,
        latencyMax: 12,
        latencySum: 33,
        failures: 0,
      })
    })

    it('rolls complete hours from minutes, keeping every check counted once', async () => {
      const now = t0 + 3 * hour + 5 * minute
      // Catch-up is bounded per pass, so a few passes bring the roll-ups up to date.
      for (let i = 0; i < 3; i++) await runRetention(store.db, policy, now + i, 'node-a')
      const hours = await listRollups(store.db, 'h', t0, t0 + 3 * hour, monitorId)
      expect(hours.map((h) => h.count)).toEqual([180, 180, 180])
      expect(hours.map((h) => h.failures)).toEqual([6, 6, 6])
      expect(hours[0]?.latencyMax).toBe(29)
    })

    it('deletes raw results past the raw window only after they were rolled up', async () => {
      const now = t0 + 3 * hour + 5 * minute
      for (let i = 0; i < 3; i++) await runRetention(store.db, policy, now + i, 'node-a')
      const remaining = await listResults(store.db, monitorId, { limit: 10_000 })
      const oldest = Math.min(...remaining.map((r) => r.checkedAt))
      expect(oldest).toBeGreaterThanOrEqual(now - hour)
      const rolledUntil = Number(await getMeta(store.db, 'rollup:m'))
      expect(rolledUntil).toBeGreaterThan(oldest)
    })

    it('keeps raw results that are not rolled up yet, even past the raw window', async () => {
      // One pass rolls at most 120 minutes; the third hour is still raw and must survive.
      await runRetention(store.db, policy, t0 + 3 * hour + 5 * minute, 'node-a')
      const rolledUntil = Number(await getMeta(store.db, 'rollup:m'))
      expect(rolledUntil).toBe(t0 + 2 * hour)
      const remaining = await listResults(store.db, monitorId, { limit: 10_000 })
      expect(Math.min(...remaining.map((r) => r.checkedAt))).toBe(t0 + 2 * hour)
    })

    it('lets one node at a time run the job', async () => {
      const now = t0 + 3 * hour + 5 * minute
      expect(await runRetention(store.db, policy, now, 'node-a')).toBeDefined()
      expect(await runRetention(store.db, policy, now + 1000, 'node-b')).toBeUndefined()
      expect(await runRetention(store.db, policy, now + 6 * minute, 'node-b')).toBeDefined()
    })
  })
}

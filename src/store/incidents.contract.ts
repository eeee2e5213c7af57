import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import { fingerprint } from '../core/alerts/index.js'
import type { IncidentDraft } from '../core/incidents/index.js'
import { upsertAlertByFingerprint } from './alerts.js'
import type { Store } from './dialect.js'
import * as incidents from './incidents.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const minute = 60_000

function draft(groupKey: string, extra: Partial<IncidentDraft> = {}): IncidentDraft {
  return {
    title: `trouble in ${groupKey}`,
    severity: 'critical',
    status: 'triggered',
    roles: {},
    groupKey,
    createdAt: t0,
    autoResolve: true,
    ...extra,
  }
}

function alertEvent(labels: Record<string, string>, status: 'firing' | 'resolved', at = t0) {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${labels.alertname} fired` },
    status,
    at,
    source: 'test',
  }
}

/** The incident store contract: every query behaves the same on every dialect. */
export function runIncidentStoreContract(kind: StoreKind): void {
  describe(`incident store contract on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    })
    afterEach(async () => {
      await cleanup()
    })

    it('stores an incident and reads back every field, absent ones absent', async () => {
      const { db } = store
      const bare = await incidents.insertIncident(db, draft('g1'), t0)
      expect(bare).toEqual({ id: expect.any(Number), ...draft('g1') })
      const full = draft('g2', {
        severity: 'warning',
        status: 'acknowledged',
        assignee: 'alice',
        roles: { commander: 'bob', scribe: 'carol' },
        service: 'db-main',
        team: 'dba',
        acknowledgedAt: t0 + minute,
        ackTimeoutMs: 30 * minute,
        ackTimeoutAt: t0 + 31 * minute,
        autoResolve: false,
      })
      const inserted = await incidents.insertIncident(db, full, t0)
      expect(inserted).toEqual({ id: expect.any(Number), ...full })
      expect(await incidents.getIncident(db, inserted!.id)).toEqual(inserted)
      expect(await incidents.getIncident(db, 999_999)).toBeUndefined()

      const { ackTimeoutAt: _cleared, ...rest } = inserted!
      const changed = {
        ...rest,
        status: 'resolved' as const,
        resolvedAt: t0 + 40 * minute,
        roles: { commander: 'bob' },
        severity: 'critical' as const,
      }
      await db.transaction().execute(async (trx) => {
        const locked = await incidents.getIncident(trx, inserted!.id, { lock: true })
        expect(locked?.status).toBe('acknowledged')
        await incidents.saveIncident(trx, changed, t0 + 40 * minute)
      })
      expect(await incidents.getIncident(db, inserted!.id)).toEqual(changed)
    })

    it('gives ids in creation order', async () => {
      const a = await incidents.insertIncident(store.db, draft('a'), t0)
      const b = await incidents.insertIncident(store.db, draft('b'), t0)
      expect(b!.id).toBeGreaterThan(a!.id)
    })

    it('keeps one open incident per group key, also when two transactions race', async () => {
      const { db } = store
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          db.transaction().execute(async (trx) => {
            const inserted = await incidents.insertIncident(trx, draft('race'), t0)
            return inserted ?? (await incidents.findOpenIncident(trx, 'race'))
          }),
        ),
      )
      const ids = new Set(results.map((r) => r?.id))
      expect(ids.size).toBe(1)
      expect([...ids][0]).toEqual(expect.any(Number))
      const open = await incidents.findOpenIncident(db, 'race', { lock: true })
      expect(open?.id).toBe([...ids][0])

      await incidents.saveIncident(db, { ...open!, status: 'resolved', resolvedAt: t0 }, t0)
      expect(await incidents.findOpenIncident(db, 'race')).toBeUndefined()
      const next = await incidents.insertIncident(db, draft('race'), t0 + minute)
      expect(next?.id).not.toBe(open?.id)
      expect(await incidents.insertIncident(db, draft('race'), t0 + minute)).toBeUndefined()
    })

    it('lists incidents newest first with filters and keyset pages', async () => {
      const { db } = store
      const made = []
      for (const [i, extra] of [
        { service: 'db', team: 'dba', severity: 'critical' },
        { service: 'web', team: 'web', severity: 'warning' },
        { service: 'db', team: 'dba', severity: 'warning', status: 'acknowledged' },
        { service: 'db', team: 'dba', severity: 'critical', status: 'resolved' },
        { service: 'web', team: 'web', severity: 'info' },
      ].entries()) {
        made.push(
          await incidents.insertIncident(db, draft(`k${i}`, extra as Partial<IncidentDraft>), t0),
        )
      }
      const ids = made.map((m) => m!.id)
      const list = async (filter: incidents.IncidentFilter) =>
        (await incidents.listIncidents(db, filter)).map((i) => ids.indexOf(i.id))

      expect(await list({})).toEqual([4, 3, 2, 1, 0])
      expect(await list({ status: 'open' })).toEqual([4, 2, 1, 0])
      expect(await list({ status: 'acknowledged' })).toEqual([2])
      expect(await list({ status: 'resolved' })).toEqual([3])
      expect(await list({ service: 'db' })).toEqual([3, 2, 0])
      expect(await list({ team: 'web', severity: 'info' })).toEqual([4])
      expect(await list({ service: 'db', status: 'open', severity: 'warning' })).toEqual([2])
      expect(await list({ limit: 2 })).toEqual([4, 3])
      expect(await list({ limit: 2, beforeId: ids[3] })).toEqual([2, 1])
      expect(await list({ limit: 2, beforeId: ids[1] })).toEqual([0])
    })

    it('lists incidents opened in a time range, oldest first', async () => {
      const { db } = store
      for (const [i, at] of [t0 - 1, t0, t0 + minute, t0 + 2 * minute].entries()) {
        await incidents.insertIncident(db, draft(`r${i}`, { createdAt: at }), at)
      }
      const listed = await incidents.listIncidentsOpenedBetween(db, t0, t0 + 2 * minute)
      expect(listed.map((i) => i.createdAt)).toEqual([t0, t0 + minute])
    })

    it('links alerts once, counts the firing ones and finds the current incident of an alert', async () => {
      const { db } = store
      const first = (await incidents.insertIncident(db, draft('alerts'), t0))!
      const a = (await upsertAlertByFingerprint(db, alertEvent({ alertname: 'A' }, 'firing')))
        .alert!
      const b = (await upsertAlertByFingerprint(db, alertEvent({ alertname: 'B' }, 'firing')))
        .alert!
      expect(await incidents.attachAlert(db, first.id, a.id, t0)).toBe(true)
      expect(await incidents.attachAlert(db, first.id, b.id, t0 + minute)).toBe(true)
      expect(await incidents.attachAlert(db, first.id, a.id, t0 + 2 * minute)).toBe(false)

      const linked = await incidents.listIncidentAlerts(db, first.id)
      expect(linked.map((l) => [l.fingerprint, l.attachedAt, l.status])).toEqual([
        [a.fingerprint, t0, 'firing'],
        [b.fingerprint, t0 + minute, 'firing'],
      ])
      expect(linked[0]?.labels).toEqual({ alertname: 'A' })
      expect(await incidents.countFiringAlerts(db, first.id)).toBe(2)

      await upsertAlertByFingerprint(db, alertEvent({ alertname: 'A' }, 'resolved', t0 + minute))
      expect(await incidents.countFiringAlerts(db, first.id)).toBe(1)
      expect((await incidents.currentIncidentOfAlert(db, a.id))?.id).toBe(first.id)

      await incidents.saveIncident(db, { ...first, status: 'resolved', resolvedAt: t0 }, t0)
      const second = (await incidents.insertIncident(db, draft('alerts'), t0 + minute))!
      await incidents.attachAlert(db, second.id, a.id, t0 + 3 * minute)
      expect((await incidents.currentIncidentOfAlert(db, a.id, { lock: true }))?.id).toBe(second.id)
      expect(await incidents.currentIncidentOfAlert(db, 999_999)).toBeUndefined()
      expect(await incidents.listIncidentAlerts(db, 999_999)).toEqual([])
    })

    it('appends to the timeline and reads it back in order, in pages', async () => {
      const { db } = store
      const one = (await incidents.insertIncident(db, draft('t1'), t0))!
      const two = (await incidents.insertIncident(db, draft('t2'), t0))!
      await incidents.appendTimeline(db, one.id, [
        { at: t0, kind: 'opened', text: 'Incident opened', data: { severity: 'critical' } },
        { at: t0 + minute, kind: 'acknowledged', by: 'alice', text: 'Acknowledged by alice' },
      ])
      await incidents.appendTimeline(db, two.id, [{ at: t0, kind: 'note', by: 'x', text: 'other' }])
      await incidents.appendTimeline(db, one.id, [])
      await incidents.appendTimeline(db, one.id, [
        { at: t0 + 2 * minute, kind: 'note', by: 'bob', text: 'looking | at it' },
      ])

      const all = await incidents.listTimeline(db, one.id)
      expect(all.map(({ id: _id, ...e }) => e)).toEqual([
        {
          incidentId: one.id,
          at: t0,
          kind: 'opened',
          text: 'Incident opened',
          data: { severity: 'critical' },
        },
        {
          incidentId: one.id,
          at: t0 + minute,
          kind: 'acknowledged',
          by: 'alice',
          text: 'Acknowledged by alice',
        },
        {
          incidentId: one.id,
          at: t0 + 2 * minute,
          kind: 'note',
          by: 'bob',
          text: 'looking | at it',
        },
      ])
      const page = await incidents.listTimeline(db, one.id, { afterId: all[0]!.id, limit: 1 })
      expect(page.map((e) => e.kind)).toEqual(['acknowledged'])
    })

    it('claims acknowledged incidents whose acknowledgement ran out, oldest deadline first', async () => {
      const { db } = store
      const acked = (key: string, at: number | undefined) =>
        incidents.insertIncident(
          db,
          draft(key, {
            status: 'acknowledged',
            acknowledgedAt: t0,
            ackTimeoutMs: 30 * minute,
            ...(at !== undefined ? { ackTimeoutAt: at } : {}),
          }),
          t0,
        )
      const late = await acked('late', t0 + 20 * minute)
      const early = await acked('early', t0 + 10 * minute)
      await acked('future', t0 + 40 * minute)
      await acked('none', undefined)
      await incidents.insertIncident(db, draft('trig', { ackTimeoutAt: t0 }), t0)

      const due = await db
        .transaction()
        .execute((trx) => incidents.claimExpiredAcks(trx, t0 + 20 * minute, 10))
      expect(due.map((i) => i.id)).toEqual([early!.id, late!.id])
      const limited = await db
        .transaction()
        .execute((trx) => incidents.claimExpiredAcks(trx, t0 + 20 * minute, 1))
      expect(limited.map((i) => i.id)).toEqual([early!.id])
    })
  })
}

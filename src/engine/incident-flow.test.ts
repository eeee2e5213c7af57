import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { parseMonitorSpec } from '../checks/registry.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import type { CheckStatus } from '../core/checks/index.js'
import type { Clock } from '../core/time.js'
import type { ServiceContext } from '../services/context.js'
import {
  acknowledgeIncident,
  getIncidentDetail,
  mttaMttrReport,
  resolveIncident,
} from '../services/incidents.js'
import { setMonitorPaused } from '../services/monitors.js'
import { upsertAlertByFingerprint } from '../store/alerts.js'
import { listAudit } from '../store/audit.js'
import type { Store } from '../store/dialect.js'
import { getIncident, listIncidents } from '../store/incidents.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { processAlertEvents } from './alert-pipeline.js'
import { retriggerExpiredAcks } from './incidents.js'
import { recordOutcomes, type RecordedTransition } from './recorder.js'
import { recordedMonitor } from './scheduler.js'

const minute = 60_000
const t0 = Date.UTC(2026, 0, 12, 9, 0, 0)

const monitors = {
  'db-primary': { name: 'db primary', labels: { service: 'db-main', team: 'dba' } },
  'db-replica': { name: 'db replica', labels: { service: 'db-main', team: 'dba' } },
  web: { name: 'web', labels: { service: 'web', team: 'web' }, severity: 'warning' },
} as const

type Slug = keyof typeof monitors

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(
    `incidents from monitor alerts on ${kind.name}`,
    () => {
      let store: Store
      let cleanup: () => Promise<void>
      let now = t0
      const clock: Clock = { now: () => now }
      const ctx = (): ServiceContext => ({
        db: store.db,
        clock,
        actor: { name: 'alice', role: 'responder' },
      })

      beforeEach(async () => {
        const created = await kind.create()
        store = created.store
        cleanup = created.cleanup
        now = t0
        for (const [slug, extra] of Object.entries(monitors)) {
          const spec = { type: 'http', url: `http://127.0.0.1:1/${slug}`, retries: 0, ...extra }
          await insertMonitor(
            store.db,
            { slug, type: 'http', spec, source: 'api', paused: false },
            t0,
            t0,
          )
        }
      })
      afterEach(async () => cleanup())

      /** Feeds check outcomes through the recorder at `at`, as the scheduler does. */
      async function check(at: number, outcomes: Partial<Record<Slug, CheckStatus>>) {
        now = at
        const batch = []
        for (const [slug, status] of Object.entries(outcomes)) {
          const row = (await getMonitor(store.db, slug))!
          const parsed = parseMonitorSpec(row.spec)
          if (!parsed.ok) throw new Error(`bad spec for ${slug}`)
          batch.push({
            monitor: recordedMonitor(row, parsed.spec),
            outcome: { status: status as CheckStatus, latencyMs: 5, message: `${slug} ${status}` },
            checkedAt: at,
            nextDueAt: at + minute,
          })
        }
        return recordOutcomes(store.db, batch, { defaultChannels: ['ops'], now: at })
      }

      const timelineOf = async (id: number) =>
        (await getIncidentDetail(ctx(), id)).timeline.map((e) => [
          e.at - t0,
          e.kind,
          e.by ?? 'keel',
        ])

      it('opens one incident per service, groups, acknowledges and resolves it with its alerts', async () => {
        const first = await check(t0, { 'db-primary': 'down' })
        expect(first.map((t) => t.notified)).toEqual([['ops']])
        let open = await listIncidents(store.db, { status: 'open' })
        expect(open).toHaveLength(1)
        const db = open[0]!
        expect(db).toMatchObject({
          title: 'db primary is DOWN',
          severity: 'critical',
          status: 'triggered',
          service: 'db-main',
          team: 'dba',
          groupKey: 'service="db-main"',
          createdAt: t0,
        })

        // The replica fails a minute later: same service, same incident. The web service gets its own.
        const second: RecordedTransition[] = await check(t0 + minute, {
          'db-replica': 'down',
          web: 'degraded',
        })
        expect(second.map((t) => t.notified)).toEqual([['ops'], ['ops']])
        open = await listIncidents(store.db, { status: 'open' })
        expect(open.map((i) => i.service)).toEqual(['web', 'db-main'])
        expect(open[0]).toMatchObject({ title: 'web is DEGRADED', severity: 'warning' })
        expect((await getIncidentDetail(ctx(), db.id)).alerts.map((a) => a.labels.monitor)).toEqual(
          ['db-primary', 'db-replica'],
        )

        now = t0 + 4 * minute
        await acknowledgeIncident(ctx(), db.id)

        // The primary recovers; the replica still fails, so the incident stays open.
        await check(t0 + 10 * minute, { 'db-primary': 'up' })
        expect((await getIncident(store.db, db.id))?.status).toBe('acknowledged')

        await check(t0 + 12 * minute, { 'db-replica': 'up' })
        const resolved = (await getIncident(store.db, db.id))!
        expect(resolved).toMatchObject({
          status: 'resolved',
          acknowledgedAt: t0 + 4 * minute,
          resolvedAt: t0 + 12 * minute,
          assignee: 'alice',
        })
        expect(resolved.ackTimeoutAt).toBeUndefined()

        expect(await timelineOf(db.id)).toEqual([
          [0, 'opened', 'keel'],
          [minute, 'alertAttached', 'keel'],
          [4 * minute, 'acknowledged', 'alice'],
          [10 * minute, 'alertResolved', 'keel'],
          [12 * minute, 'alertResolved', 'keel'],
          [12 * minute, 'resolved', 'keel'],
        ])
        const detail = await getIncidentDetail(ctx(), db.id)
        expect(detail.timeline.at(-1)?.text).toBe('Resolved automatically: all alerts resolved')
        expect(detail.timeline[1]?.text).toBe('Alert attached: db replica is DOWN')

        expect(
          (await listAudit(store.db, { objectType: 'incident', objectId: String(db.id) })).map(
            (e) => [e.actor, e.action],
          ),
        ).toEqual([
          ['keel', 'incident.resolve'],
          ['alice', 'incident.acknowledge'],
          ['keel', 'incident.open'],
        ])

        // Pausing the degraded web monitor resolves its alert, and with it the incident.
        now = t0 + 15 * minute
        await setMonitorPaused({ ...ctx(), actor: { name: 'bob', role: 'operator' } }, 'web', true)
        expect(await listIncidents(store.db, { status: 'open' })).toEqual([])

        const report = await mttaMttrReport(ctx(), { from: t0, to: t0 + 60 * minute })
        expect(report.groups).toEqual([
          {
            group: 'db-main',
            incidents: 1,
            acknowledged: 1,
            resolved: 1,
            mtta: { count: 1, meanMs: 4 * minute, p50Ms: 4 * minute, p90Ms: 4 * minute },
            mttr: { count: 1, meanMs: 12 * minute, p50Ms: 12 * minute, p90Ms: 12 * minute },
          },
          {
            group: 'web',
            incidents: 1,
            acknowledged: 0,
            resolved: 1,
            mttr: { count: 1, meanMs: 14 * minute, p50Ms: 14 * minute, p90Ms: 14 * minute },
          },
        ])

        // The primary fails again: the old incident stays resolved and a new one opens.
        await check(t0 + 20 * minute, { 'db-primary': 'down' })
        const again = await listIncidents(store.db, { status: 'open' })
        expect(again).toHaveLength(1)
        expect(again[0]?.id).not.toBe(db.id)
        expect(again[0]?.createdAt).toBe(t0 + 20 * minute)
      })

      it('raises the incident when a degraded monitor goes down', async () => {
        await check(t0, { web: 'degraded' })
        const [incident] = await listIncidents(store.db, {})
        expect(incident?.severity).toBe('warning')
        await check(t0 + minute, { web: 'down' })
        expect((await getIncident(store.db, incident!.id))?.severity).toBe('warning')
        // `web` is a warning monitor, so down stays warning; a critical one goes critical.
        await check(t0 + 2 * minute, { 'db-primary': 'degraded' })
        const db = (await listIncidents(store.db, { service: 'db-main' }))[0]!
        expect(db.severity).toBe('warning')
        await check(t0 + 3 * minute, { 'db-primary': 'down' })
        expect((await getIncident(store.db, db.id))?.severity).toBe('critical')
        expect((await timelineOf(db.id)).map((e) => e[1])).toEqual(['opened', 'severityChanged'])
      })

      it('re-triggers an acknowledgement that times out without a resolve', async () => {
        await check(t0, { 'db-primary': 'down' })
        const [incident] = await listIncidents(store.db, {})
        now = t0 + minute
        const acked = await acknowledgeIncident(ctx(), incident!.id)
        expect(acked.ackTimeoutAt).toBe(t0 + 31 * minute)

        expect(await retriggerExpiredAcks(store.db, t0 + 31 * minute - 1)).toEqual([])
        const changes = await retriggerExpiredAcks(store.db, t0 + 31 * minute)
        expect(changes.map((c) => [c.incident.id, c.incident.status])).toEqual([
          [incident!.id, 'triggered'],
        ])
        expect(changes[0]?.effects).toEqual([
          { kind: 'notify', reason: 'ackTimedOut' },
          { kind: 'startEscalation' },
        ])
        const stored = (await getIncident(store.db, incident!.id))!
        expect(stored).toMatchObject({ status: 'triggered', acknowledgedAt: t0 + minute })
        expect(stored.ackTimeoutAt).toBeUndefined()
        expect(await retriggerExpiredAcks(store.db, t0 + 60 * minute)).toEqual([])
        const detail = await getIncidentDetail(ctx(), incident!.id)
        expect(detail.timeline.at(-1)).toMatchObject({
          at: t0 + 31 * minute,
          kind: 'ackTimedOut',
          text: 'Acknowledgement timed out after 30m without a resolve; re-triggered',
        })
        const audit = await listAudit(store.db, { objectType: 'incident' })
        expect(audit[0]).toMatchObject({ actor: 'keel', action: 'incident.retrigger' })
      })

      it('acknowledges the incident of a PagerDuty acknowledge event, leaving the alert firing', async () => {
        const labels = { alertname: 'CheckoutErrors', service: 'shop', severity: 'error' }
        const fire: AlertEvent = {
          fingerprint: fingerprint(labels),
          labels,
          annotations: { summary: 'checkout errors above 5%' },
          status: 'firing',
          at: t0,
          source: 'pagerduty:shop',
        }
        // As the PagerDuty ingest sends it: the stored alert's labels, the acknowledgement noted.
        const ack: AlertEvent = {
          ...fire,
          annotations: { ...fire.annotations, acknowledged: 'yes' },
          action: 'acknowledge',
        }
        const run = (events: AlertEvent[], at: number) =>
          store.db.transaction().execute((trx) => processAlertEvents(trx, events, { now: at }))

        const [opened] = await run([fire], t0)
        expect(opened?.incident).toMatchObject({ opened: true, incident: { severity: 'error' } })
        const [acked] = await run([ack], t0 + 2 * minute)
        expect(acked?.change).toBe('updated')
        expect(acked?.alert).toMatchObject({
          status: 'firing',
          labels,
          annotations: { acknowledged: 'yes' },
        })
        expect(acked?.incident?.incident).toMatchObject({
          status: 'acknowledged',
          assignee: 'pagerduty:shop',
          acknowledgedAt: t0 + 2 * minute,
        })
        expect(acked?.incident?.effects.map((e) => e.kind)).toEqual([
          'stopEscalation',
          'scheduleAckTimeout',
          'notify',
        ])
        // A second acknowledgement changes nothing.
        expect((await run([ack], t0 + 3 * minute))[0]?.incident).toBeUndefined()
        const unknown = { ...ack, fingerprint: 'ffffffffffffffff' }
        expect(await run([unknown], t0)).toEqual([{ event: unknown, change: 'unchanged' }])
      })

      it('gives an alert that fired before incidents existed an incident on its next repeat, but not one resolved by hand', async () => {
        const labels = { alertname: 'Backlog', service: 'queue', severity: 'warning' }
        const fire = (at: number): AlertEvent => ({
          fingerprint: fingerprint(labels),
          labels,
          annotations: { summary: 'queue backlog' },
          status: 'firing',
          at,
          source: 'alertmanager',
        })
        const run = (event: AlertEvent, at: number) =>
          store.db.transaction().execute((trx) => processAlertEvents(trx, [event], { now: at }))
        // As an alert stored by a Keel without migration 0003 would be.
        await upsertAlertByFingerprint(store.db, fire(t0))
        expect(await listIncidents(store.db, {})).toEqual([])

        const [repeat] = await run(fire(t0 + 5 * minute), t0 + 5 * minute)
        expect(repeat?.change).toBe('updated')
        expect(repeat?.incident).toMatchObject({ opened: true, incident: { service: 'queue' } })

        now = t0 + 6 * minute
        await resolveIncident(ctx(), repeat!.incident!.incident.id)
        expect((await run(fire(t0 + 10 * minute), t0 + 10 * minute))[0]?.incident).toBeUndefined()
        expect(await listIncidents(store.db, { status: 'open' })).toEqual([])
      })

      it('keeps one incident open while a monitor flaps and resolves it when it settles up', async () => {
        let at = t0
        const counts: number[] = []
        let started = false
        for (let i = 0; i < 20 && !started; i++) {
          at += minute
          const transitions = await check(at, { web: i % 2 === 0 ? 'down' : 'up' })
          counts.push((await listIncidents(store.db, {})).length)
          started = transitions.some((t) => t.transition.flappingChanged && t.transition.flapping)
        }
        expect(started).toBe(true)
        const flappingSince = counts.length
        expect((await listIncidents(store.db, { status: 'open' })).length).toBe(1)
        // Quiet flaps neither open incidents nor resolve the open one.
        for (let i = 0; i < 10; i++) {
          at += minute
          await check(at, { web: i % 2 === 0 ? 'down' : 'up' })
        }
        expect((await listIncidents(store.db, {})).length).toBe(counts[flappingSince - 1])
        expect((await listIncidents(store.db, { status: 'open' })).length).toBe(1)
        for (let i = 0; i < 30; i++) {
          at += minute
          await check(at, { web: 'up' })
        }
        expect(await listIncidents(store.db, { status: 'open' })).toEqual([])
      })

      it('leaves an incident resolved by hand resolved while its alert keeps firing', async () => {
        await check(t0, { 'db-primary': 'down' })
        const [incident] = await listIncidents(store.db, {})
        now = t0 + minute
        await resolveIncident(ctx(), incident!.id, { reason: 'known' })
        await check(t0 + 5 * minute, { 'db-primary': 'up' })
        expect((await timelineOf(incident!.id)).map((e) => e[1])).toEqual([
          'opened',
          'resolved',
          'alertResolved',
        ])
        expect(await listIncidents(store.db, { status: 'open' })).toEqual([])
      })
    },
  )
}

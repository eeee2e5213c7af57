import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { entitySpecSchema } from '../core/catalog/index.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import { writeAlertingSection } from '../services/alerting.js'
import { writeOncallSections } from '../services/oncall.js'
import { upsertEntity } from '../store/catalog.js'
import type { Store } from '../store/dialect.js'
import { getEscalation } from '../store/escalations.js'
import { listAudit } from '../store/audit.js'
import { getIncident, listIncidentAlerts, listIncidents, listTimeline } from '../store/incidents.js'
import { parseMonitorSpec } from '../checks/registry.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { processAlertEvents } from './alert-pipeline.js'
import { applyStoredIncidentEvent } from './incidents.js'
import { recordOutcomes } from './recorder.js'
import { recordedMonitor } from './scheduler.js'

const t0 = Date.UTC(2026, 11, 6, 5, 0, 0)
const services = ['orders', 'billing', 'search', 'accounts', 'reports']

function firing(labels: Record<string, string>, at: number): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    status: 'firing',
    labels,
    annotations: { summary: `${labels.alertname} on ${labels.service}` },
    source: 'test',
    at,
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`dependency grouping on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    const ingest = (events: AlertEvent[], at: number) =>
      store.db.transaction().execute((trx) => processAlertEvents(trx, events, { now: at }))

    const put = (id: string, spec: unknown) =>
      upsertEntity(store.db, { id, spec: entitySpecSchema.parse(spec), source: 'api' }, t0)

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      await put('db-main', { kind: 'database' })
      await put('cache', { kind: 'service', dependsOn: ['db-main'] })
      for (const id of services) {
        await put(id, { kind: 'service', dependsOn: [id === 'reports' ? 'cache' : 'db-main'] })
      }
      await put('cdn', { kind: 'service' })
    })
    afterEach(async () => cleanup())

    const oncall = () =>
      writeOncallSections(store.db, {
        users: { ann: { name: 'Ann' } },
        teams: {},
        schedules: {},
        escalationPolicies: { ops: { levels: [{ targets: [{ user: 'ann' }] }] } },
        routes: { match: [{ matchers: [], escalationPolicy: 'ops' }] },
      })

    /** A monitor labelled like examples/keel.yaml's `shop-host`, checked down at `at`. */
    async function monitorDown(slug: string, labels: Record<string, string>, at: number) {
      const spec = { type: 'http', url: `http://127.0.0.1:1/${slug}`, retries: 0, labels }
      await insertMonitor(
        store.db,
        { slug, type: 'http', spec, source: 'api', paused: false },
        at,
        at,
      )
      const row = (await getMonitor(store.db, slug))!
      const parsed = parseMonitorSpec(row.spec)
      if (!parsed.ok) throw new Error(`bad spec for ${slug}`)
      const outcome = { status: 'down' as const, latencyMs: 5, message: `${slug} down` }
      const monitor = recordedMonitor(row, parsed.spec)
      await recordOutcomes(
        store.db,
        [{ monitor, outcome, checkedAt: at, nextDueAt: at + 60_000 }],
        {
          defaultChannels: [],
          now: at,
        },
      )
    }

    it('monitor labelled entity=db-main goes down → 5 dependents (some labelled entity=, some service=) alert → one page', async () => {
      await oncall()
      // The monitor names its entity only by `entity=`; no `service` label at all.
      await monitorDown('db-main-tcp', { entity: 'db-main', team: 'dba' }, t0)
      const [dbIncident, ...others] = await listIncidents(store.db, {})
      expect(others).toEqual([])
      // Dependents name their entity three ways: `entity=` with a different `service`, `entity=`
      // alone, and `service=` alone.
      const labelsOf: Record<string, Record<string, string>> = {
        orders: { entity: 'orders', service: 'orders-api' },
        billing: { entity: 'billing', service: 'payments' },
        search: { entity: 'search' },
        accounts: { service: 'accounts' },
        reports: { service: 'reports' },
      }
      const dependents = await ingest(
        services.map((id) =>
          firing({ alertname: 'HighErrorRate', ...labelsOf[id], target: id }, t0 + 20_000),
        ),
        t0 + 20_000,
      )
      expect(dependents.map((p) => p.incident?.incident.id)).toEqual(Array(5).fill(dbIncident!.id))
      expect(await listIncidents(store.db, {})).toHaveLength(1)
      expect(await store.db.selectFrom('escalations').selectAll().execute()).toHaveLength(1)
      expect(await getEscalation(store.db, dbIncident!.id)).toMatchObject({ status: 'active' })
      const notes = (await listTimeline(store.db, dbIncident!.id)).map((e) => e.text)
      expect(notes.filter((n) => /probable root cause db-main/.test(n))).toHaveLength(5)
      expect(notes.some((n) => n.includes('(reports → cache → db-main)'))).toBe(true)
    })

    it('db down, then 5 dependent services alert: one incident, one page, root cause named', async () => {
      await writeOncallSections(store.db, {
        users: { ann: { name: 'Ann' } },
        teams: {},
        schedules: {},
        escalationPolicies: { ops: { levels: [{ targets: [{ user: 'ann' }] }] } },
        routes: { match: [{ matchers: [], escalationPolicy: 'ops' }] },
      })
      const [db] = await ingest([firing({ alertname: 'DbDown', service: 'db-main' }, t0)], t0)
      const dbIncident = db!.incident!.incident
      const dependents = await ingest(
        services.map((service) => firing({ alertname: 'HighErrorRate', service }, t0 + 20_000)),
        t0 + 20_000,
      )
      // Every dependent joined the database's incident; nothing else opened.
      expect(dependents.map((p) => p.incident?.incident.id)).toEqual(Array(5).fill(dbIncident.id))
      expect(dependents.every((p) => p.incident?.opened === false)).toBe(true)
      expect(await listIncidents(store.db, {})).toHaveLength(1)
      expect((await listIncidentAlerts(store.db, dbIncident.id)).length).toBe(6)
      // One escalation: the database's. The timeline names the root cause and the path.
      expect(await getEscalation(store.db, dbIncident.id)).toMatchObject({ status: 'active' })
      const escalations = await store.db.selectFrom('escalations').selectAll().execute()
      expect(escalations).toHaveLength(1)
      const notes = (await listTimeline(store.db, dbIncident.id)).map((e) => e.text)
      expect(notes).toContain(
        'HighErrorRate on reports: grouped here, probable root cause db-main (reports → cache → db-main)',
      )
      expect(notes.filter((n) => /probable root cause db-main/.test(n))).toHaveLength(5)
    })

    it('dependents alert first, the database seconds later: their incidents merge into its one page', async () => {
      await oncall()
      const first = await ingest(
        [
          ...services.map((service) => firing({ alertname: 'HighErrorRate', service }, t0)),
          firing({ alertname: 'Slow', service: 'cdn' }, t0),
        ],
        t0,
      )
      const idOf = (service: string) =>
        first.find((p) => p.event.labels.service === service)!.incident!.incident.id
      expect(new Set(first.map((p) => p.incident?.incident.id)).size).toBe(6)
      // Someone already took `accounts`: it stays theirs.
      await store.db.transaction().execute(async (trx) => {
        const accounts = (await getIncident(trx, idOf('accounts')))!
        await applyStoredIncidentEvent(
          trx,
          accounts,
          { kind: 'acknowledge', by: 'ann' },
          t0 + 2_000,
        )
      })

      await monitorDown('db-main-tcp', { entity: 'db-main' }, t0 + 5_000)
      const open = await listIncidents(store.db, { status: 'open' })
      const root = open.find((i) => i.title.startsWith('db-main-tcp'))!
      expect(open.map((i) => i.id).sort()).toEqual([idOf('accounts'), idOf('cdn'), root.id].sort())
      const merged = ['orders', 'billing', 'search', 'reports'].map(idOf)
      for (const id of merged) {
        expect(await getIncident(store.db, id)).toMatchObject({ status: 'resolved' })
        // Their paging stopped before anyone was woken: no step of theirs is left to run.
        expect(await getEscalation(store.db, id)).toMatchObject({ status: 'stopped' })
      }
      const pending = await store.db
        .selectFrom('escalation_steps')
        .select('incident_id')
        .where('status', '=', 'pending')
        .execute()
      expect(new Set(pending.map((row) => row.incident_id))).toEqual(
        new Set([root.id, idOf('cdn')]),
      )
      // The database's incident holds its alert and the four merged ones.
      const alerts = await listIncidentAlerts(store.db, root.id)
      expect(alerts.map((a) => a.labels.service ?? a.labels.entity).sort()).toEqual(
        ['billing', 'db-main', 'orders', 'reports', 'search'].sort(),
      )
      const rootNotes = (await listTimeline(store.db, root.id)).map((e) => e.text)
      expect(rootNotes).toContain(
        `Incident #${idOf('reports')} (HighErrorRate on reports) merged here: probable root cause db-main (reports → cache → db-main)`,
      )
      const reportsTimeline = (await listTimeline(store.db, idOf('reports'))).map((e) => e.text)
      expect(reportsTimeline).toContain(
        `Resolved by keel: merged into incident #${root.id}: probable root cause db-main (reports → cache → db-main)`,
      )
      const accountsNotes = (await listTimeline(store.db, idOf('accounts'))).map((e) => e.text)
      expect(
        accountsNotes.some((n) => n.startsWith(`Incident #${root.id} opened for db-main`)),
      ).toBe(true)
      const audit = await listAudit(store.db, { action: 'incident.merge' })
      expect(audit.map((e) => Number(e.objectId)).sort()).toEqual([...merged].sort())

      // A merged alert now lives in the database's incident: its recovery is recorded there.
      await ingest(
        [
          {
            ...firing({ alertname: 'HighErrorRate', service: 'orders' }, t0 + 60_000),
            status: 'resolved',
          },
        ],
        t0 + 60_000,
      )
      const resolvedOn = (await listTimeline(store.db, root.id)).filter(
        (e) => e.kind === 'alertResolved',
      )
      expect(resolvedOn.map((e) => e.text)).toEqual(['Alert resolved: HighErrorRate on orders'])
    })

    it('an unrelated service, or no down dependency, pages on its own', async () => {
      await ingest([firing({ alertname: 'DbDown', service: 'db-main' }, t0)], t0)
      const [cdn] = await ingest([firing({ alertname: 'Slow', service: 'cdn' }, t0 + 1)], t0 + 1)
      expect(cdn?.incident?.opened).toBe(true)
      await cleanup()
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      const [orders] = await ingest([firing({ alertname: 'Err', service: 'orders' }, t0)], t0)
      expect(orders?.incident?.opened).toBe(true)
    })

    it('can be turned off: then each service pages', async () => {
      await writeAlertingSection(store.db, { dependencySuppression: false })
      await ingest([firing({ alertname: 'DbDown', service: 'db-main' }, t0)], t0)
      const dependents = await ingest(
        services.map((service) => firing({ alertname: 'HighErrorRate', service }, t0 + 1)),
        t0 + 1,
      )
      expect(dependents.every((p) => p.incident?.opened === true)).toBe(true)
      expect(await listIncidents(store.db, {})).toHaveLength(6)
    })
  })
}

import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { fingerprint } from '../core/alerts/index.js'
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '../core/errors.js'
import { alertmanagerAlertsFormat } from '../ingest/alertmanager-alerts.js'
import { alertmanagerWebhookFormat } from '../ingest/alertmanager-webhook.js'
import { genericFormat } from '../ingest/generic.js'
import { TokenBucketLimiter } from '../ingest/index.js'
import { pagerDutyFormat } from '../ingest/pagerduty.js'
import { getAlert, listAlerts } from '../store/alerts.js'
import { listAudit } from '../store/audit.js'
import { openStore, type Store, type StoreLocation } from '../store/dialect.js'
import { listIngestEvents } from '../store/integrations.js'
import {
  authenticateIntegration,
  createIntegration,
  deleteIntegration,
  getIntegrationView,
  listIntegrations,
  pruneIngestInbox,
  receiveIngest,
  resolveExpiredAlerts,
  rotateIntegrationKey,
  updateIntegration,
  type IngestDeps,
  type IngestResponse,
} from './integrations.js'

const t0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const minute = 60_000

function accepted(response: IngestResponse) {
  if (response.outcome !== 'accepted') throw new Error(JSON.stringify(response))
  return response.accepted.events
}

/** Waits until no session is connected to a PostgreSQL test database (at once for SQLite). */
async function disconnected(location: StoreLocation): Promise<void> {
  const admin = process.env.KEEL_TEST_POSTGRES_URL
  if (location.driver !== 'postgres' || !admin) return
  const name = new URL(location.url).pathname.slice(1)
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  try {
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [name],
      )
      if (rows[0]?.n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    await client.end()
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`integrations service on ${kind.name}`, () => {
    let store: Store
    let location: StoreLocation
    let cleanup: () => Promise<void>
    let now = t0
    const clock = { now: () => now }
    const actor = { name: 'alice', role: 'operator' as const, source: '192.0.2.7' }
    const ctx = () => ({ db: store.db, clock, actor })
    const deps = (extra: Partial<IngestDeps> = {}): IngestDeps => ({
      db: store.db,
      clock,
      ...extra,
    })

    beforeEach(async () => {
      now = t0
      const created = await kind.create()
      store = created.store
      location = created.location
      cleanup = created.cleanup
    })
    afterEach(async () => {
      // pg's pool ends its connections after `close` resolves; let them go before the forced drop.
      await store.close()
      await disconnected(location)
      await cleanup()
    })

    /** A second store on the same database, for concurrent work. */
    async function withSecondStore<T>(work: (other: Store) => Promise<T>): Promise<T> {
      const other = await openStore(location)
      try {
        return await work(other)
      } finally {
        await other.close()
      }
    }

    async function pagerDuty(id = 'pd', labels: Record<string, string> = {}) {
      return (await createIntegration(ctx(), { id, kind: 'pagerduty', labels })).key
    }

    function pdEvent(key: string, action: string, dedup: string, summary = 'disk full') {
      return {
        routing_key: key,
        event_action: action,
        dedup_key: dedup,
        payload: { summary, source: 'db-1', severity: 'critical' },
      }
    }

    it('creates an integration whose key is shown once and stored only as a hash', async () => {
      const created = await createIntegration(
        { ...ctx(), publicUrl: 'https://keel.example/' },
        { id: 'prom-prod', kind: 'alertmanager', name: 'Prometheus prod', labels: { env: 'prod' } },
      )
      expect(created.key).toMatch(/^[0-9a-f]{32}$/)
      expect(created.integration).toMatchObject({
        id: 'prom-prod',
        kind: 'alertmanager',
        name: 'Prometheus prod',
        labels: { env: 'prod' },
        disabled: false,
        createdAt: t0,
      })
      expect(created.integration.endpoints).toEqual([
        expect.objectContaining({
          format: 'alertmanager',
          url: `https://keel.example/ingest/alertmanager/${created.key}`,
          key: 'path',
        }),
        expect.objectContaining({
          format: 'alertmanager-api',
          url: `https://keel.example/ingest/alertmanager/${created.key}/api/v2/alerts`,
          key: 'path',
        }),
        expect.objectContaining({
          format: 'alertmanager-api',
          url: 'https://keel.example/api/v2/alerts',
          key: 'bearer',
        }),
      ])
      const listed = await listIntegrations(ctx())
      expect(JSON.stringify(listed)).not.toContain(created.key)
      expect(listed[0]?.endpoints[0]?.url).toBe('/ingest/alertmanager/<key>')
      const rows = await store.db.selectFrom('integrations').selectAll().execute()
      expect(JSON.stringify(rows)).not.toContain(created.key)
      const audit = await listAudit(store.db, { objectType: 'integration' })
      expect(audit[0]).toMatchObject({
        action: 'integration.create',
        actor: 'alice',
        objectId: 'prom-prod',
        source: '192.0.2.7',
      })
      expect(JSON.stringify(audit)).not.toContain(created.key)
    })

    it.each([
      {
        name: 'an id that is not a slug',
        input: { id: 'Prom Prod', kind: 'generic' },
        field: 'id',
      },
      { name: 'an unknown kind', input: { id: 'x', kind: 'opsgenie' }, field: 'kind' },
      {
        name: 'a label name with a dash',
        input: { id: 'x', kind: 'generic', labels: { 'my-team': 'a' } },
        field: 'labels["my-team"]',
      },
      {
        name: 'an empty label value',
        input: { id: 'x', kind: 'generic', labels: { team: '' } },
        field: 'labels.team',
      },
      { name: 'an unknown field', input: { id: 'x', kind: 'generic', key: 'mine' }, field: 'body' },
    ])('refuses $name, naming the field', async ({ input, field }) => {
      const error = await createIntegration(ctx(), input).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InputError)
      expect((error as InputError).message).toContain(field)
      expect((error as InputError).details).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: field })]),
      )
    })

    it('refuses a second integration with the same id', async () => {
      await createIntegration(ctx(), { id: 'a', kind: 'generic' })
      await expect(createIntegration(ctx(), { id: 'a', kind: 'pagerduty' })).rejects.toThrow(
        ConflictError,
      )
    })

    it('authenticates keys: missing and unknown are 401, disabled is 403', async () => {
      const key = await pagerDuty()
      await expect(authenticateIntegration(store.db, undefined)).rejects.toThrow(
        AuthenticationError,
      )
      await expect(authenticateIntegration(store.db, 'f'.repeat(32))).rejects.toThrow(
        AuthenticationError,
      )
      expect((await authenticateIntegration(store.db, key)).id).toBe('pd')
      await updateIntegration(ctx(), 'pd', { disabled: true })
      await expect(authenticateIntegration(store.db, key)).rejects.toThrow(NotAllowedError)
      const refused = await receiveIngest(
        deps(),
        pagerDutyFormat,
        key,
        pdEvent(key, 'trigger', 'x'),
      )
      expect(refused).toMatchObject({ outcome: 'refused', refusal: { status: 403 } })
      await updateIntegration(ctx(), 'pd', { disabled: false })
      expect(
        accepted(await receiveIngest(deps(), pagerDutyFormat, key, pdEvent(key, 'trigger', 'x'))),
      ).toHaveLength(1)
    })

    it('rotates a key: the old one stops working at once', async () => {
      const old = await pagerDuty()
      const rotated = await rotateIntegrationKey(ctx(), 'pd')
      expect(rotated.key).not.toBe(old)
      await expect(authenticateIntegration(store.db, old)).rejects.toThrow(AuthenticationError)
      expect((await authenticateIntegration(store.db, rotated.key)).id).toBe('pd')
    })

    it('answers 404 for an integration that does not exist', async () => {
      await expect(getIntegrationView(ctx(), 'ghost')).rejects.toThrow(NotFoundError)
      await expect(updateIntegration(ctx(), 'ghost', { name: 'x' })).rejects.toThrow(NotFoundError)
      await expect(rotateIntegrationKey(ctx(), 'ghost')).rejects.toThrow(NotFoundError)
      await expect(deleteIntegration(ctx(), 'ghost')).rejects.toThrow(NotFoundError)
    })

    it('refuses a key on an endpoint of another kind with 404 naming the right endpoint', async () => {
      const key = await pagerDuty()
      const response = await receiveIngest(deps(), genericFormat, key, {
        labels: { alertname: 'X' },
      })
      expect(response).toMatchObject({ outcome: 'refused', refusal: { status: 404 } })
      expect(response.outcome === 'refused' && response.refusal.message).toContain('/v2/enqueue')
    })

    it('refuses a missing routing_key as an invalid event that names it', async () => {
      const response = await receiveIngest(deps(), pagerDutyFormat, undefined, {
        event_action: 'trigger',
      })
      expect(response.outcome === 'rejected' && response.issues.map((i) => i.path)).toContain(
        'routing_key',
      )
    })

    it('follows a PagerDuty alert through trigger, update, acknowledge, resolve and re-trigger', async () => {
      const key = await pagerDuty('pd', { team: 'dba', source: 'integration-default' })
      const send = async (action: string, summary?: string) => {
        now += 1_000
        return accepted(
          await receiveIngest(
            deps(),
            pagerDutyFormat,
            key,
            pdEvent(key, action, 'disk-db-1', summary),
          ),
        )[0]
      }
      expect(await send('trigger')).toMatchObject({ status: 'opened', dedupKey: 'disk-db-1' })
      expect(await send('trigger', 'disk still full')).toMatchObject({ status: 'updated' })
      expect(await send('acknowledge')).toMatchObject({ status: 'acknowledged' })
      expect(await send('resolve')).toMatchObject({ status: 'resolved' })
      expect(await send('resolve')).toMatchObject({ status: 'dropped' })
      expect(await send('acknowledge')).toMatchObject({ status: 'dropped' })
      expect(await send('trigger')).toMatchObject({ status: 'reopened' })

      const fp = fingerprint({ integration: 'pd', dedup_key: 'disk-db-1' })
      const alert = await getAlert(store.db, fp)
      expect(alert).toMatchObject({ status: 'firing', source: 'pagerduty:pd' })
      // The integration's labels are added; the sender's (source) win.
      expect(alert?.labels).toMatchObject({ team: 'dba', source: 'db-1', integration: 'pd' })
      expect(await listAlerts(store.db)).toHaveLength(1)
      const inbox = await listIngestEvents(store.db, 'pd')
      expect(inbox.map((e) => e.status).reverse()).toEqual([
        'opened',
        'updated',
        'acknowledged',
        'resolved',
        'dropped',
        'dropped',
        'reopened',
      ])
      expect(inbox.every((e) => e.fingerprint === fp && e.dedupKey === 'disk-db-1')).toBe(true)
      expect(JSON.stringify(inbox)).not.toContain(key)
    })

    it('drops an acknowledge or resolve for a dedup key that never triggered, still accepting it', async () => {
      const key = await pagerDuty()
      for (const action of ['acknowledge', 'resolve']) {
        const [event] = accepted(
          await receiveIngest(deps(), pagerDutyFormat, key, pdEvent(key, action, 'never')),
        )
        expect(event).toMatchObject({ status: 'dropped', dedupKey: 'never' })
      }
      expect(await listAlerts(store.db)).toEqual([])
    })

    it('keeps dedup keys of two integrations apart', async () => {
      const a = await pagerDuty('pd-a')
      const b = await pagerDuty('pd-b')
      await receiveIngest(deps(), pagerDutyFormat, a, pdEvent(a, 'trigger', 'same'))
      const [resolve] = accepted(
        await receiveIngest(deps(), pagerDutyFormat, b, pdEvent(b, 'resolve', 'same')),
      )
      expect(resolve?.status).toBe('dropped')
      expect(
        (await listAlerts(store.db, { status: 'firing' })).map((x) => x.labels.integration),
      ).toEqual(['pd-a'])
    })

    it('limits PagerDuty events per integration and says when to retry', async () => {
      const key = await pagerDuty()
      const limited = deps({ limiter: new TokenBucketLimiter(2) })
      for (const dedup of ['a', 'b']) {
        const response = await receiveIngest(
          limited,
          pagerDutyFormat,
          key,
          pdEvent(key, 'trigger', dedup),
        )
        expect(response.outcome).toBe('accepted')
      }
      const response = await receiveIngest(
        limited,
        pagerDutyFormat,
        key,
        pdEvent(key, 'trigger', 'c'),
      )
      expect(response).toMatchObject({
        outcome: 'refused',
        refusal: { status: 429, retryAfterSeconds: 30 },
      })
      expect((await listIngestEvents(store.db, 'pd')).map((e) => e.dedupKey)).toEqual(['b', 'a'])
      now += 30_000
      expect(
        (await receiveIngest(limited, pagerDutyFormat, key, pdEvent(key, 'trigger', 'c'))).outcome,
      ).toBe('accepted')
    })

    it('stores nothing from a rejected request', async () => {
      const key = (await createIntegration(ctx(), { id: 'am', kind: 'alertmanager' })).key
      const response = await receiveIngest(deps(), alertmanagerAlertsFormat, key, [
        { labels: { alertname: 'Good' } },
        { labels: { job: 'no alertname' } },
      ])
      expect(response.outcome).toBe('rejected')
      expect(await listAlerts(store.db)).toEqual([])
      expect(await listIngestEvents(store.db, 'am')).toEqual([])
    })

    it('resolves an alert sent without an end after the 5-minute resolve timeout, at that end', async () => {
      const key = (await createIntegration(ctx(), { id: 'am', kind: 'alertmanager' })).key
      const labels = { alertname: 'HighLoad', instance: 'web-1' }
      const [event] = accepted(
        await receiveIngest(deps(), alertmanagerAlertsFormat, key, [{ labels }]),
      )
      expect(event).toMatchObject({ status: 'opened', fingerprint: fingerprint(labels) })
      expect(await resolveExpiredAlerts(store.db, t0 + 5 * minute - 1)).toBe(0)
      expect((await getAlert(store.db, fingerprint(labels)))?.status).toBe('firing')
      expect(await resolveExpiredAlerts(store.db, t0 + 5 * minute)).toBe(1)
      expect(await getAlert(store.db, fingerprint(labels))).toMatchObject({
        status: 'resolved',
        endsAt: t0 + 5 * minute,
      })
      expect(await resolveExpiredAlerts(store.db, t0 + 60 * minute)).toBe(0)
    })

    it('moves the end when the sender refreshes the alert, as Prometheus does every minute', async () => {
      const key = (await createIntegration(ctx(), { id: 'am', kind: 'alertmanager' })).key
      const alert = (endsAt: number) => [
        { labels: { alertname: 'HighLoad' }, endsAt: new Date(endsAt).toISOString() },
      ]
      await receiveIngest(deps(), alertmanagerAlertsFormat, key, alert(t0 + 4 * minute))
      now = t0 + minute
      await receiveIngest(deps(), alertmanagerAlertsFormat, key, alert(t0 + 5 * minute))
      expect(await resolveExpiredAlerts(store.db, t0 + 4 * minute)).toBe(0)
      expect(await resolveExpiredAlerts(store.db, t0 + 5 * minute)).toBe(1)
    })

    it('cancels the scheduled end when the sender resolves, or a webhook takes the alert over', async () => {
      const key = (await createIntegration(ctx(), { id: 'am', kind: 'alertmanager' })).key
      const labels = { alertname: 'A' }
      await receiveIngest(deps(), alertmanagerAlertsFormat, key, [
        { labels },
        { labels: { alertname: 'B' } },
      ])
      now = t0 + minute
      const resolved = await receiveIngest(deps(), alertmanagerAlertsFormat, key, [
        { labels, endsAt: new Date(t0 + 30_000).toISOString() },
      ])
      expect(accepted(resolved)[0]?.status).toBe('resolved')
      await receiveIngest(deps(), alertmanagerWebhookFormat, key, {
        version: '4',
        alerts: [
          { status: 'firing', labels: { alertname: 'B' }, startsAt: new Date(t0).toISOString() },
        ],
      })
      expect(await resolveExpiredAlerts(store.db, t0 + 60 * minute)).toBe(0)
      expect((await getAlert(store.db, fingerprint({ alertname: 'B' })))?.status).toBe('firing')
      expect((await getAlert(store.db, fingerprint(labels)))?.endsAt).toBe(t0 + 30_000)
    })

    it('applies concurrent requests for one new alert without losing any', async () => {
      const key = await pagerDuty()
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          receiveIngest(
            deps(),
            pagerDutyFormat,
            key,
            pdEvent(key, 'trigger', 'hot', `summary ${i}`),
          ),
        ),
      )
      const statuses = results.flatMap((r) => accepted(r).map((e) => e.status))
      expect(statuses.filter((s) => s === 'opened')).toHaveLength(1)
      expect(statuses.filter((s) => s === 'updated')).toHaveLength(19)
      const alert = await getAlert(store.db, fingerprint({ integration: 'pd', dedup_key: 'hot' }))
      expect(alert?.eventCount).toBe(20)
    })

    it('applies concurrent webhook batches that share alerts in different orders', async () => {
      const key = (await createIntegration(ctx(), { id: 'am', kind: 'alertmanager' })).key
      const alerts = ['a', 'b', 'c', 'd'].map((name) => ({
        status: 'firing',
        labels: { alertname: name },
      }))
      const results = await withSecondStore((other) =>
        Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            receiveIngest({ db: other.db, clock }, alertmanagerWebhookFormat, key, {
              version: '4',
              alerts: i % 2 ? alerts : [...alerts].reverse(),
            }),
          ),
        ),
      )
      expect(results.every((r) => r.outcome === 'accepted')).toBe(true)
      const firing = await listAlerts(store.db, { status: 'firing' })
      expect(firing.map((a) => a.eventCount)).toEqual([8, 8, 8, 8])
    })

    it('has committed an accepted request by the time it returns', async () => {
      const key = (await createIntegration(ctx(), { id: 'g', kind: 'generic' })).key
      const [event] = accepted(
        await receiveIngest(deps(), genericFormat, key, { labels: { alertname: 'Durable' } }),
      )
      // A second, independent connection sees the alert and the inbox row.
      await withSecondStore(async (other) => {
        expect((await getAlert(other.db, event?.fingerprint ?? ''))?.status).toBe('firing')
        expect(await listIngestEvents(other.db, 'g')).toHaveLength(1)
      })
    })

    it('prunes the inbox by age', async () => {
      const key = (await createIntegration(ctx(), { id: 'g', kind: 'generic' })).key
      await receiveIngest(deps(), genericFormat, key, { labels: { alertname: 'Old' } })
      now = t0 + 8 * 86_400_000
      await receiveIngest(deps(), genericFormat, key, { labels: { alertname: 'New' } })
      expect(await pruneIngestInbox(store.db, now)).toBe(1)
      expect((await listIngestEvents(store.db, 'g')).map((e) => e.receivedAt)).toEqual([now])
    })

    it('deletes an integration with its inbox and keeps its alerts', async () => {
      const key = (await createIntegration(ctx(), { id: 'g', kind: 'generic' })).key
      await receiveIngest(deps(), genericFormat, key, { labels: { alertname: 'Stays' } })
      await deleteIntegration(ctx(), 'g')
      await expect(authenticateIntegration(store.db, key)).rejects.toThrow(AuthenticationError)
      expect(await listIngestEvents(store.db, 'g')).toEqual([])
      expect(await listAlerts(store.db)).toHaveLength(1)
    })
  })
}

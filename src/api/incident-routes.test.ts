import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const minute = 60_000

function alert(
  labels: Record<string, string>,
  status: 'firing' | 'resolved',
  at: number,
): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${labels.alertname} on ${labels.service ?? labels.instance}` },
    status,
    at,
    source: 'alertmanager',
  }
}

describe.each(apiStoreKinds)('incident API on $name', ({ kind }) => {
  let h: ApiHarness
  let t0: number
  const ids: Record<string, number> = {}

  const send = async (events: AlertEvent[]) =>
    h.store.db
      .transaction()
      .execute((trx) => processAlertEvents(trx, events, { now: h.clock.now() }))

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    t0 = h.clock.now()
    const processed = await send([
      alert(
        { alertname: 'DiskFull', service: 'db-main', team: 'dba', severity: 'warning' },
        'firing',
        t0,
      ),
      alert(
        { alertname: 'HighLatency', service: 'web', team: 'web', severity: 'critical' },
        'firing',
        t0,
      ),
      alert(
        { alertname: 'Replication', service: 'db-main', team: 'dba', severity: 'critical' },
        'firing',
        t0,
      ),
      alert({ alertname: 'Info', service: 'batch', severity: 'info' }, 'firing', t0),
    ])
    ids.db = processed[0]?.incident?.incident.id as number
    ids.web = processed[1]?.incident?.incident.id as number
    ids.batch = processed[3]?.incident?.incident.id as number
  }, 60_000)
  afterAll(async () => h?.close())

  const get = (url: string, role: 'viewer' | 'admin' = 'viewer') =>
    h.app.inject({ url, headers: h.as(role) })
  const post = (
    url: string,
    payload?: object,
    role: 'responder' | 'operator' | 'viewer' = 'responder',
  ) => h.app.inject({ method: 'POST', url, headers: h.as(role), ...(payload ? { payload } : {}) })

  it.skipIf(kind.skipReason)('lists incidents newest first, filtered and paged', async () => {
    const all = await get('/api/v1/incidents')
    expect(all.statusCode).toBe(200)
    expect(all.json().items.map((i: { id: number }) => i.id)).toEqual([ids.batch, ids.web, ids.db])
    const db = all.json().items.find((i: { id: number }) => i.id === ids.db)
    expect(db).toMatchObject({
      title: 'DiskFull on db-main',
      severity: 'critical',
      status: 'triggered',
      service: 'db-main',
      team: 'dba',
      groupKey: 'service="db-main"',
      autoResolve: true,
    })

    const page1 = await get('/api/v1/incidents?limit=2')
    expect(page1.json().items).toHaveLength(2)
    const page2 = await get(`/api/v1/incidents?limit=2&before=${page1.json().next}`)
    expect(page2.json()).toEqual({ items: [expect.objectContaining({ id: ids.db })] })

    const filtered = async (query: string) =>
      (await get(`/api/v1/incidents?${query}`)).json().items.map((i: { id: number }) => i.id)
    expect(await filtered('service=db-main')).toEqual([ids.db])
    expect(await filtered('team=web&severity=critical')).toEqual([ids.web])
    expect(await filtered('severity=info&status=open')).toEqual([ids.batch])
    expect(await filtered('status=resolved')).toEqual([])

    const bad = await get('/api/v1/incidents?status=closed')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('query parameter status')
  })

  it.skipIf(kind.skipReason)('shows one incident with its timeline and alerts', async () => {
    const response = await get(`/api/v1/incidents/${ids.db}`)
    expect(response.statusCode).toBe(200)
    const detail = response.json()
    expect(detail.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname)).toEqual(
      ['DiskFull', 'Replication'],
    )
    expect(detail.timeline.map((e: { kind: string }) => e.kind)).toEqual([
      'opened',
      'alertAttached',
      'severityChanged',
    ])
    expect((await get(`/api/v1/incidents/%23${ids.db}`)).statusCode).toBe(200)
  })

  it.skipIf(kind.skipReason)('answers 404 for an incident that does not exist', async () => {
    for (const url of ['/api/v1/incidents/999999', '/api/v1/incidents/nope/postmortem']) {
      const response = await get(url)
      expect(response.statusCode).toBe(404)
      expect(response.json().error.name).toBe('NotFoundError')
    }
    const ack = await post('/api/v1/incidents/no-such-monitor/ack', {})
    expect(ack.statusCode).toBe(404)
    expect(ack.json().error.message).toBe(
      'incident "no-such-monitor" does not exist; incidents are numbered, e.g. 42',
    )
  })

  it.skipIf(kind.skipReason)(
    'acknowledges once, answers a second acknowledgement with 409 and audits it',
    async () => {
      const ack = await post(`/api/v1/incidents/${ids.web}/ack`)
      expect(ack.statusCode).toBe(200)
      expect(ack.json()).toMatchObject({
        status: 'acknowledged',
        acknowledgedAt: t0,
        assignee: 'token:test-responder',
        ackTimeoutAt: t0 + 30 * minute,
      })
      const again = await post(`/api/v1/incidents/${ids.web}/ack`, {})
      expect(again.statusCode).toBe(409)
      expect(again.json().error).toEqual({
        name: 'ConflictError',
        message: `incident #${ids.web} is already acknowledged`,
      })
      const viewer = await post(`/api/v1/incidents/${ids.web}/ack`, {}, 'viewer')
      expect(viewer.statusCode).toBe(403)

      const audit = await get(`/api/v1/audit?objectType=incident&objectId=${ids.web}`, 'admin')
      expect(
        audit.json().items.map((e: { actor: string; action: string }) => [e.actor, e.action]),
      ).toEqual([
        ['token:test-responder', 'incident.acknowledge'],
        ['keel', 'incident.open'],
      ])
    },
  )

  it.skipIf(kind.skipReason)(
    'takes notes, reassigns, sets roles and severity, each in the timeline',
    async () => {
      const url = `/api/v1/incidents/${ids.db}`
      expect((await post(`${url}/notes`, { text: 'checking the disk' })).statusCode).toBe(200)
      const reassigned = await post(`${url}/reassign`, { to: 'alice' }, 'operator')
      expect(reassigned.json().assignee).toBe('alice')
      const roles = await post(`${url}/roles`, { commander: 'bob', scribe: 'carol' }, 'operator')
      expect(roles.json().roles).toEqual({ commander: 'bob', scribe: 'carol' })
      const cleared = await post(`${url}/roles`, { scribe: null, commander: 'bob' }, 'operator')
      expect(cleared.json().roles).toEqual({ commander: 'bob' })
      const unchanged = await post(`${url}/roles`, { commander: 'bob' }, 'operator')
      expect(unchanged.statusCode).toBe(409)
      const severity = await post(`${url}/severity`, { severity: 'error' }, 'operator')
      expect(severity.json().severity).toBe('error')

      const timeline = (await get(url)).json().timeline as {
        kind: string
        by?: string
        text: string
      }[]
      expect(timeline.slice(3).map((e) => [e.kind, e.by, e.text])).toEqual([
        ['note', 'token:test-responder', 'checking the disk'],
        ['reassigned', 'token:test-operator', 'Assigned to alice by token:test-operator'],
        ['roleChanged', 'token:test-operator', 'bob is commander (set by token:test-operator)'],
        ['roleChanged', 'token:test-operator', 'carol is scribe (set by token:test-operator)'],
        [
          'roleChanged',
          'token:test-operator',
          'scribe role cleared by token:test-operator (was carol)',
        ],
        [
          'severityChanged',
          'token:test-operator',
          'Severity changed from critical to error by token:test-operator',
        ],
      ])
    },
  )

  it.skipIf(kind.skipReason)('refuses bad bodies and roles with 400 or 403', async () => {
    const url = `/api/v1/incidents/${ids.db}`
    const empty = await post(`${url}/notes`, { text: '   ' })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().error.message).toBe('text must not be empty')
    expect((await post(`${url}/notes`, {})).json().error.message).toBe(
      'body field text is required',
    )
    const severity = await post(`${url}/severity`, { severity: 'sev1' }, 'operator')
    expect(severity.statusCode).toBe(400)
    expect((await post(`${url}/roles`, {}, 'operator')).statusCode).toBe(400)
    expect((await post(`${url}/roles`, { pilot: 'x' }, 'operator')).statusCode).toBe(400)
    expect((await post(`${url}/reassign`, { to: 'x' })).statusCode).toBe(403)
    expect((await post(`${url}/reopen`, {}, 'viewer')).statusCode).toBe(403)
  })

  it.skipIf(kind.skipReason)(
    'resolves, refuses to resolve twice, and the responder reopens',
    async () => {
      const url = `/api/v1/incidents/${ids.batch}`
      const resolved = await post(`${url}/resolve`, { reason: 'expected batch noise' })
      expect(resolved.statusCode).toBe(200)
      expect(resolved.json()).toMatchObject({ status: 'resolved', resolvedAt: t0 })
      const twice = await post(`${url}/resolve`)
      expect(twice.statusCode).toBe(409)
      expect(twice.json().error.message).toBe(`incident #${ids.batch} is already resolved`)
      const ackResolved = await post(`${url}/ack`)
      expect(ackResolved.json().error.message).toBe(
        `incident #${ids.batch} is resolved; reopen it before acknowledging`,
      )
      const reopened = await post(`${url}/reopen`, { reason: 'not noise after all' })
      expect(reopened.statusCode).toBe(200)
      expect(reopened.json().status).toBe('triggered')
      expect(reopened.json().resolvedAt).toBeUndefined()
      expect((await post(`${url}/reopen`)).statusCode).toBe(409)
    },
  )

  it.skipIf(kind.skipReason)(
    'refuses to reopen while a newer incident is open for the same alerts',
    async () => {
      const labels = { alertname: 'QueueBacklog', service: 'queue', severity: 'warning' }
      const first = (await send([alert(labels, 'firing', t0)]))[0]?.incident?.incident.id
      await post(`/api/v1/incidents/${first}/resolve`)
      const second = (await send([alert(labels, 'resolved', t0), alert(labels, 'firing', t0)]))[1]
        ?.incident?.incident.id
      expect(second).not.toBe(first)
      const reopen = await post(`/api/v1/incidents/${first}/reopen`)
      expect(reopen.statusCode).toBe(409)
      expect(reopen.json().error.message).toContain(
        `incident #${second} is open for the same alerts`,
      )
    },
  )

  it.skipIf(kind.skipReason)('drafts a postmortem as markdown', async () => {
    const response = await get(`/api/v1/incidents/${ids.db}/postmortem`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/markdown; charset=utf-8')
    expect(response.body).toContain(`# Postmortem: #${ids.db} DiskFull on db-main`)
    expect(response.body).toContain('| Commander | bob |')
    expect(response.body).toContain('checking the disk')
  })

  it.skipIf(kind.skipReason)('reports MTTA and MTTR per team', async () => {
    const from = new Date(t0 - minute).toISOString()
    const response = await get(
      `/api/v1/reports/mtta-mttr?from=${from}&to=${t0 + minute}&groupBy=team`,
    )
    expect(response.statusCode).toBe(200)
    const report = response.json()
    expect(report).toMatchObject({ from: t0 - minute, to: t0 + minute, groupBy: 'team' })
    expect(report.groups.find((g: { group: string }) => g.group === 'web')).toMatchObject({
      incidents: 1,
      acknowledged: 1,
      mtta: { count: 1, meanMs: 0 },
    })
    const defaults = await get('/api/v1/reports/mtta-mttr')
    expect(defaults.json()).toMatchObject({
      to: t0,
      from: t0 - 30 * 86_400_000,
      groupBy: 'service',
    })
    const backwards = await get(`/api/v1/reports/mtta-mttr?from=${t0}&to=${t0 - 1}`)
    expect(backwards.statusCode).toBe(400)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertForTransition, type AlertEvent } from '../core/alerts/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { createMaintenance } from '../services/alerting.js'
import { writeStatusPageSection } from '../services/status-page.js'
import { setMeta } from '../store/meta.js'
import { insertMonitor } from '../store/monitors.js'
import { insertResults } from '../store/results.js'
import { upsertRollups, type Rollup } from '../store/rollups.js'
import type { LoadedStatusPage } from '../services/status-page.js'
import { apiStoreKinds, startApiHarness, testClock, type ApiHarness } from './api-harness.js'
import { StatusPageCache, statusPageUrls } from './status-page-routes.js'

const day = 86_400_000
const hour = 3_600_000
// Private facts that must never reach the public page.
const secrets = ['db-main', 'Primary database', '10.9.8.7', 'secret-path', 'refused by 10']

const stats = (count: number, failures: number) => ({
  count,
  failures,
  degraded: 0,
  latencySum: count * 10,
  latencyP50: 10,
  latencyP95: 10,
  latencyMax: 10,
})

function monitorAlert(id: string, name: string, status: 'down' | 'up', at: number): AlertEvent {
  return alertForTransition(
    { id, type: 'http', name, severity: 'critical', labels: { service: id } },
    {
      from: status === 'down' ? 'up' : 'down',
      to: status,
      at,
      message: `GET http://10.9.8.7/secret-path refused by 10.9.8.7`,
      flapping: false,
      flappingChanged: false,
    } as never,
  ) as AlertEvent
}

describe.each(apiStoreKinds)('public status page on $name', ({ kind }) => {
  let h: ApiHarness
  let today: number
  const ids: Record<string, number> = {}

  const get = (url: string, headers: Record<string, string> = {}) => h.app.inject({ url, headers })
  const refresh = () => h.clock.advance(11_000)

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind, {})
    const now = h.clock.now()
    today = Math.floor(now / day) * day
    const db = h.store.db
    const spec = (name: string, path: string) => ({
      type: 'http',
      name,
      url: `http://10.9.8.7/${path}`,
      labels: { team: 'web' },
    })
    for (const [slug, name, path] of [
      ['shop-home', 'Shop home (internal name)', 'home'],
      ['shop-api', 'Shop API', 'api'],
      ['db-main', 'Primary database', 'secret-path'],
    ] as const) {
      const row = await insertMonitor(
        db,
        { slug, type: 'http', spec: spec(name, path), source: 'api', paused: false },
        now,
        now,
      )
      ids[slug] = row.id
    }
    await db.updateTable('monitors').set({ state: 'up' }).execute()
    await db.updateTable('monitors').set({ state: 'down' }).where('slug', '=', 'db-main').execute()
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)('answers 404 while nothing is public', async () => {
    const response = await get(statusPageUrls.html)
    expect(response.statusCode).toBe(404)
    expect(response.body).toContain('statusPage')
  })

  it.skipIf(kind.skipReason)('serves all four documents without a token', async () => {
    await writeStatusPageSection(h.store.db, {
      title: 'Shop status',
      description: 'How the shop is doing',
      groups: [
        {
          name: 'Shop',
          components: [
            { monitor: 'shop-home', name: 'Website' },
            { monitor: 'shop-api', description: 'Public REST API' },
          ],
        },
      ],
    })
    refresh()
    const types: Record<string, string> = {
      html: 'text/html; charset=utf-8',
      json: 'application/json; charset=utf-8',
      rss: 'application/rss+xml; charset=utf-8',
      atom: 'application/atom+xml; charset=utf-8',
    }
    for (const [which, url] of Object.entries(statusPageUrls)) {
      const response = await get(url)
      expect(response.statusCode, url).toBe(200)
      expect(response.headers['content-type']).toBe(types[which])
      expect(response.headers['cache-control']).toBe('public, max-age=10')
      expect(response.headers.etag).toMatch(/^"[\w-]+"$/)
    }
    const html = (await get(statusPageUrls.html)).body
    expect(html).toContain('<title>Shop status</title>')
    expect(html).toContain('data-overall="operational">All systems operational')
    expect(html).toContain('data-component="website" data-status="operational"')
    expect(html).toContain('Public REST API')
  })

  it.skipIf(kind.skipReason)('still requires a token for the operator API', async () => {
    expect((await get('/api/v1/status')).statusCode).toBe(401)
    expect((await get('/api/v1/monitors')).statusCode).toBe(401)
  })

  it.skipIf(kind.skipReason)(
    'draws the daily bars from roll-ups, and today from finer data',
    async () => {
      const db = h.store.db
      const rollup = (
        resolution: 'd' | 'h' | 'm',
        bucketStart: number,
        count: number,
        failures: number,
      ): Rollup => ({
        monitorId: ids['shop-home'] as number,
        resolution,
        bucketStart,
        ...stats(count, failures),
      })
      await upsertRollups(db, [
        rollup('d', today - 2 * day, 100, 0),
        rollup('d', today - day, 100, 50),
        // Hours already folded into yesterday's day must not count twice.
        rollup('h', today - day, 100, 100),
        rollup('h', today, 60, 0),
        rollup('m', today + hour, 1, 1),
        { ...rollup('d', today - day, 100, 100), monitorId: ids['db-main'] as number },
      ])
      await setMeta(db, 'rollup:d', String(today))
      await setMeta(db, 'rollup:h', String(today + hour))
      await setMeta(db, 'rollup:m', String(today + hour + 60_000))
      await insertResults(db, [
        {
          monitorId: ids['shop-home'] as number,
          checkedAt: today + hour + 120_000,
          status: 'down',
          latencyMs: 5,
          message: 'x',
        },
        {
          monitorId: ids['shop-home'] as number,
          checkedAt: today + hour + 180_000,
          status: 'up',
          latencyMs: 5,
          message: '',
        },
      ])
      refresh()
      const summary = (await get(statusPageUrls.json)).json()
      const website = summary.groups[0].components[0]
      expect(website.name).toBe('Website')
      expect(website.days).toHaveLength(90)
      const dateOf = (t: number) => new Date(t).toISOString().slice(0, 10)
      expect(website.days.at(-3)).toEqual({ date: dateOf(today - 2 * day), uptime: 1 })
      expect(website.days.at(-2)).toEqual({ date: dateOf(today - day), uptime: 0.5 })
      expect(website.days.at(-1)).toEqual({ date: dateOf(today), uptime: 61 / 63 })
      expect(website.days.at(-4)).toEqual({ date: dateOf(today - 3 * day), uptime: null })
      expect(website.uptime).toBeCloseTo((100 + 50 + 61) / 263, 10)
      const html = (await get(statusPageUrls.html)).body
      expect(html).toContain(`<i class="bad" title="${dateOf(today - day)} · 50.00 %"></i>`)
    },
  )

  it.skipIf(kind.skipReason)(
    'shows incidents of public monitors only, without alert text',
    async () => {
      const now = h.clock.now()
      await h.store.db
        .transaction()
        .execute((trx) =>
          processAlertEvents(
            trx,
            [
              monitorAlert('shop-home', 'Shop home (internal name)', 'down', now),
              monitorAlert('db-main', 'Primary database', 'down', now),
            ],
            { now },
          ),
        )
      refresh()
      const summary = (await get(statusPageUrls.json)).json()
      expect(summary.activeIncidents).toHaveLength(1)
      expect(summary.activeIncidents[0]).toMatchObject({
        title: 'Outage: Website',
        status: 'investigating',
        components: ['Website'],
        resolvedAt: null,
      })
      for (const url of Object.values(statusPageUrls)) {
        const body = (await get(url)).body
        expect(body).toContain('Outage: Website')
        for (const secret of [...secrets, 'internal name', 'shop-home is']) {
          expect(body, `${url} leaks ${secret}`).not.toContain(secret)
        }
      }
    },
  )

  it.skipIf(kind.skipReason)(
    'shows a note a responder published, and never the other notes',
    async () => {
      const id = (await get(statusPageUrls.json)).json().activeIncidents[0].id as number
      const note = (payload: object) =>
        h.app.inject({
          method: 'POST',
          url: `/api/v1/incidents/${id}/notes`,
          headers: h.as('responder'),
          payload,
        })
      expect((await note({ text: 'db-7 ran out of disk (internal)' })).statusCode).toBe(200)
      const published = await note({
        text: 'Checkout is slow; a fix is rolling out.',
        public: true,
      })
      expect(published.statusCode).toBe(200)
      expect((await note({ text: 'x', public: 'yes' })).statusCode).toBe(400)
      refresh()
      const summary = (await get(statusPageUrls.json)).json()
      expect(summary.activeIncidents[0].updates[0]).toMatchObject({
        status: 'investigating',
        text: 'Checkout is slow; a fix is rolling out.',
      })
      for (const url of Object.values(statusPageUrls)) {
        const body = (await get(url)).body
        expect(body, url).toContain('Checkout is slow; a fix is rolling out.')
        expect(body, url).not.toContain('ran out of disk')
      }
      const audit = await h.app.inject({
        url: '/api/v1/audit?action=incident.publicUpdate',
        headers: h.as('admin'),
      })
      expect(audit.json().items).toHaveLength(1)
    },
  )

  it.skipIf(kind.skipReason)(
    'answers 304 to a matching ETag or date, and HEAD without a body',
    async () => {
      const first = await get(statusPageUrls.html)
      const etag = first.headers.etag as string
      const again = await get(statusPageUrls.html, { 'if-none-match': etag })
      expect(again.statusCode).toBe(304)
      expect(again.body).toBe('')
      expect(again.headers.etag).toBe(etag)
      const other = await get(statusPageUrls.html, { 'if-none-match': '"something-else"' })
      expect(other.statusCode).toBe(200)
      const since = await get(statusPageUrls.rss, {
        'if-modified-since': (await get(statusPageUrls.rss)).headers['last-modified'] as string,
      })
      expect(since.statusCode).toBe(304)
      const head = await h.app.inject({ method: 'HEAD', url: statusPageUrls.json })
      expect(head.statusCode).toBe(200)
      expect(head.body).toBe('')
      const gzip = await get(statusPageUrls.html, { 'accept-encoding': 'gzip, br' })
      expect(gzip.headers['content-encoding']).toBe('gzip')
    },
  )

  it.skipIf(kind.skipReason)('shows public maintenance of public components only', async () => {
    const now = h.clock.now()
    const ctx = { db: h.store.db, clock: h.clock, actor: { name: 'test', role: 'admin' as const } }
    const window = (id: string, matchers: string, isPublic: boolean, startIn: number) =>
      createMaintenance(ctx, {
        id,
        title: `Window ${id}`,
        description: `About ${id}`,
        matchers,
        public: isPublic,
        oneOff: { start: now + startIn, end: now + startIn + hour },
      })
    await window('api-upgrade', 'monitor="shop-api"', true, day)
    await window('home-now', 'monitor="shop-home"', true, -60_000)
    await window('secret-db', 'monitor="db-main"', true, day)
    await window('quiet', 'monitor="shop-api"', false, day)
    refresh()
    const summary = (await get(statusPageUrls.json)).json()
    expect(summary.maintenance).toEqual([
      {
        id: 'home-now',
        title: 'Window home-now',
        description: 'About home-now',
        state: 'active',
        startsAt: new Date(now - 60_000).toISOString(),
        endsAt: new Date(now - 60_000 + hour).toISOString(),
        components: ['Website'],
      },
      {
        id: 'api-upgrade',
        title: 'Window api-upgrade',
        description: 'About api-upgrade',
        state: 'scheduled',
        startsAt: new Date(now + day).toISOString(),
        endsAt: new Date(now + day + hour).toISOString(),
        components: ['Shop API'],
      },
    ])
    expect(summary.groups[0].components[0].status).toBe('maintenance')
    const feed = (await get(statusPageUrls.atom)).body
    expect(feed).toContain('Maintenance: Window api-upgrade (scheduled)')
    expect(feed).not.toContain('secret-db')
    expect(feed).not.toContain('quiet')
  })

  it.skipIf(kind.skipReason)('serves one snapshot until it expires', async () => {
    const before = (await get(statusPageUrls.json)).json()
    expect(before.groups[0].components[1].status).toBe('operational')
    await h.store.db
      .updateTable('monitors')
      .set({ state: 'down' })
      .where('slug', '=', 'shop-api')
      .execute()
    // Concurrent requests during a refresh share it and see the same bytes.
    h.clock.advance(5_000)
    expect((await get(statusPageUrls.json)).json().groups[0].components[1].status).toBe(
      'operational',
    )
    h.clock.advance(6_000)
    const bodies = await Promise.all(
      Array.from({ length: 20 }, () => get(statusPageUrls.json).then((r) => r.body)),
    )
    expect(new Set(bodies).size).toBe(1)
    const after = JSON.parse(bodies[0] as string)
    expect(after.groups[0].components[1].status).toBe('major_outage')
    expect(after.status.indicator).toBe('major_outage')
    expect(after.page.updatedAt).toBe(new Date(h.clock.now()).toISOString())
  })

  it.skipIf(kind.skipReason)(
    'publishes an ingested alert naming a public monitor only from an integration with publicStatus',
    async () => {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: h.as('admin'),
        payload: { id: 'outside', kind: 'generic' },
      })
      expect(created.statusCode).toBe(201)
      expect(created.json().publicStatus).toBe(false)
      const key = created.json().key as string
      refresh()
      const before = (await get(statusPageUrls.json)).json()
      const incidentsBefore = (
        await h.app.inject({ url: '/api/v1/incidents', headers: h.as('viewer') })
      ).json().items.length as number
      const sent = await h.app.inject({
        method: 'POST',
        url: `/ingest/generic/${key}`,
        headers: { 'content-type': 'application/json' },
        payload: {
          labels: { alertname: 'ShopDown', monitor: 'shop-api', severity: 'critical' },
          annotations: { summary: 'Shop API is down, see evil.example' },
        },
      })
      expect(sent.statusCode).toBeLessThan(300)
      // The alert opened an incident inside Keel, as any alert does.
      const incidents = (
        await h.app.inject({ url: '/api/v1/incidents', headers: h.as('viewer') })
      ).json().items as { id: number }[]
      expect(incidents.length).toBe(incidentsBefore + 1)
      refresh()
      const after = (await get(statusPageUrls.json)).json()
      expect(after.activeIncidents).toEqual(before.activeIncidents)
      expect(after.groups).toEqual(before.groups)
      expect(after.status).toEqual(before.status)

      const allowed = await h.app.inject({
        method: 'PATCH',
        url: '/api/v1/integrations/outside',
        headers: h.as('admin'),
        payload: { publicStatus: true },
      })
      expect(allowed.statusCode).toBe(200)
      expect(allowed.json().publicStatus).toBe(true)
      refresh()
      const published = (await get(statusPageUrls.json)).json()
      expect(published.activeIncidents).toHaveLength(before.activeIncidents.length + 1)
      expect(published.activeIncidents[0]).toMatchObject({ components: ['Shop API'] })
    },
  )
})

describe('StatusPageCache', () => {
  const view = (title: string): LoadedStatusPage => ({
    cacheSeconds: 10,
    view: {
      title,
      generatedAt: 0,
      status: 'operational',
      groups: [],
      showIncidents: true,
      activeIncidents: [],
      pastIncidents: [],
      maintenance: [],
    },
  })

  it('computes one snapshot for a burst of requests, and again only after it expires', async () => {
    const clock = testClock(0)
    let loads = 0
    let release: () => void = () => undefined
    const cache = new StatusPageCache({
      clock,
      load: async () => {
        loads++
        await new Promise<void>((resolve) => (release = resolve))
        return view(`page ${loads}`)
      },
    })
    const burst = Array.from({ length: 50 }, () => cache.get())
    release()
    const snapshots = await Promise.all(burst)
    expect(loads).toBe(1)
    expect(new Set(snapshots).size).toBe(1)
    clock.advance(9_999)
    expect(await cache.get()).toBe(snapshots[0])
    clock.advance(1)
    const next = cache.get()
    release()
    expect((await next).assets?.html.body.toString()).toContain('page 2')
    expect(loads).toBe(2)
  })

  it('keeps serving the last page for a while when a refresh fails', async () => {
    const clock = testClock(0)
    let fail = false
    const errors: unknown[] = []
    const cache = new StatusPageCache({
      clock,
      load: async () => {
        if (fail) throw new Error('database is gone')
        return view('good page')
      },
      onError: (err) => errors.push(err),
    })
    const good = await cache.get()
    fail = true
    clock.advance(10_000)
    const stale = await cache.get()
    expect(stale.assets?.html.etag).toBe(good.assets?.html.etag)
    expect(errors).toHaveLength(1)
    clock.advance(4_999)
    await cache.get()
    expect(errors).toHaveLength(1)
  })
})

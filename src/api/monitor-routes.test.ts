import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { setMeta } from '../store/meta.js'
import { insertMonitor } from '../store/monitors.js'
import { insertResults } from '../store/results.js'
import { upsertRollups, type Rollup } from '../store/rollups.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

describe.each(apiStoreKinds)('monitor routes on $name', ({ kind }) => {
  let h: ApiHarness
  let listener: ListeningServer
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    listener = await listenOnLoopback(createServer((socket) => socket.end()))
  }, 60_000)
  afterAll(async () => {
    await listener?.close()
    await h?.close()
  })

  const tcp = (port = 5432) => ({ type: 'tcp', host: '127.0.0.1', port })

  it.skipIf(kind.skipReason)('creates, reads, replaces and deletes a monitor', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: { id: 'db-main', ...tcp(), interval: '30s', labels: { team: 'dba' } },
    })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({
      id: 'db-main',
      type: 'tcp',
      state: 'pending',
      paused: false,
      source: 'api',
      managedByConfig: false,
      version: 1,
      spec: { type: 'tcp', host: '127.0.0.1', port: 5432, interval: '30s' },
    })
    expect(h.changes).toContain('monitors')

    const read = await h.app.inject({ url: '/api/v1/monitors/db-main', headers: h.as('viewer') })
    expect(read.statusCode).toBe(200)
    // The single read adds what decides the state; lists and writes leave it out.
    expect(read.json()).toEqual({
      ...created.json(),
      rules: {
        expectations: [{ text: 'port accepts connections', otherwise: 'down', source: 'probe' }],
        downAfter: 2,
        upAfter: 1,
      },
    })

    const changesBefore = h.changes.length
    const replaced = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/monitors/db-main',
      headers: h.as('operator'),
      payload: { ...tcp(6432), interval: '1m' },
    })
    expect(replaced.statusCode).toBe(200)
    expect(replaced.json()).toMatchObject({ version: 2, spec: { port: 6432, interval: '1m' } })
    expect(h.changes.length).toBe(changesBefore + 1)

    const deleted = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/monitors/db-main',
      headers: h.as('operator'),
    })
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    const gone = await h.app.inject({ url: '/api/v1/monitors/db-main', headers: h.as('viewer') })
    expect(gone.statusCode).toBe(404)
    expect(gone.json().error).toEqual({
      name: 'NotFoundError',
      message: 'monitor db-main does not exist',
    })
  })

  it.skipIf(kind.skipReason)(
    'says in words what makes a monitor down or degraded, without its secrets',
    async () => {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: {
          id: 'shop-rules',
          type: 'http',
          url: 'https://shop.example.org/health',
          basicAuth: { username: 'probe', password: 'hunter2-secret' },
          expectedStatus: '200-299',
          keyword: 'ok',
          degradedAfter: '500ms',
          conditions: ['[BODY].db == "up"'],
          retries: 2,
          recoveries: 3,
          paused: true,
        },
      })
      expect(created.statusCode).toBe(201)
      const read = await h.app.inject({
        url: '/api/v1/monitors/shop-rules',
        headers: h.as('viewer'),
      })
      expect(read.json().rules).toEqual({
        expectations: [
          { text: 'status is 200-299', otherwise: 'down', source: 'probe' },
          { text: 'body contains "ok"', otherwise: 'down', source: 'probe' },
          { text: 'certificate is valid and trusted', otherwise: 'down', source: 'probe' },
          { text: 'response time at most 500ms', otherwise: 'degraded', source: 'probe' },
          { text: '[BODY].db == "up"', otherwise: 'down', source: 'condition' },
        ],
        downAfter: 3,
        upAfter: 3,
      })
      expect(read.body).not.toContain('hunter2-secret')
      const listed = await h.app.inject({ url: '/api/v1/monitors', headers: h.as('viewer') })
      expect(listed.json().items[0]).not.toHaveProperty('rules')
      await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/monitors/shop-rules',
        headers: h.as('operator'),
      })
    },
  )

  it.skipIf(kind.skipReason)('refuses an invalid spec with 400 naming the field', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: { id: 'too-fast', ...tcp(), interval: '2ms' },
    })
    expect(response.statusCode).toBe(400)
    const error = response.json().error
    expect(error.name).toBe('InputError')
    expect(error.message).toContain('too-fast')
    expect(error.message).toContain('interval')
    expect(JSON.stringify(error.details)).toContain('interval')
    const missing = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: tcp(),
    })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error.message).toBe('body field id is required')
  })

  it.skipIf(kind.skipReason)('refuses a duplicate id with 409', async () => {
    const create = () =>
      h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: { id: 'twice', ...tcp() },
      })
    expect((await create()).statusCode).toBe(201)
    const again = await create()
    expect(again.statusCode).toBe(409)
    expect(again.json().error).toMatchObject({ name: 'ConflictError' })
    expect(again.json().error.message).toContain('twice')
  })

  it.skipIf(kind.skipReason)(
    'refuses to edit or delete a monitor owned by keel.yaml, but pauses it',
    async () => {
      const now = h.clock.now()
      await insertMonitor(
        h.store.db,
        { slug: 'from-file', type: 'tcp', spec: tcp(), source: 'file:keel.yaml', paused: false },
        now,
        now,
      )
      const put = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/monitors/from-file',
        headers: h.as('admin'),
        payload: tcp(1234),
      })
      expect(put.statusCode).toBe(409)
      expect(put.json().error.message).toContain('keel.yaml')
      const del = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/monitors/from-file',
        headers: h.as('admin'),
      })
      expect(del.statusCode).toBe(409)
      const pause = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/from-file/pause',
        headers: h.as('responder'),
      })
      expect(pause.statusCode).toBe(200)
      expect(pause.json()).toMatchObject({ paused: true, state: 'paused', managedByConfig: true })
      const resume = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/from-file/resume',
        headers: h.as('responder'),
      })
      expect(resume.json()).toMatchObject({ paused: false, state: 'pending' })
    },
  )

  it.skipIf(kind.skipReason)('refuses a body id that differs from the URL', async () => {
    const response = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/monitors/twice',
      headers: h.as('operator'),
      payload: { id: 'other', ...tcp() },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.message).toContain('body field id')
  })

  it.skipIf(kind.skipReason)('pages through monitors with after and filters them', async () => {
    for (const [id, labels] of [
      ['page-a', { team: 'dba', env: 'prod' }],
      ['page-b', { team: 'dba', env: 'test' }],
      ['page-c', { team: 'net', env: 'prod' }],
      ['page-d', { team: 'dba', env: 'prod' }],
      ['page-e', {}],
    ] as const) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: { id, ...tcp(), labels },
      })
      expect(response.statusCode).toBe(201)
    }
    const ids = (body: { items: { id: string }[] }) =>
      body.items.map((m) => m.id).filter((id) => id.startsWith('page-'))

    const first = await h.app.inject({
      url: '/api/v1/monitors?type=tcp&after=page&limit=2',
      headers: h.as('viewer'),
    })
    expect(ids(first.json())).toEqual(['page-a', 'page-b'])
    expect(first.json().next).toBe('page-b')
    const second = await h.app.inject({
      url: `/api/v1/monitors?after=${first.json().next}&limit=2`,
      headers: h.as('viewer'),
    })
    expect(ids(second.json())).toEqual(['page-c', 'page-d'])
    const third = await h.app.inject({
      url: `/api/v1/monitors?after=${second.json().next}&limit=2`,
      headers: h.as('viewer'),
    })
    expect(third.json().items.map((m: { id: string }) => m.id)).not.toContain('page-d')
    expect(ids(third.json())).toContain('page-e')

    const dba = await h.app.inject({
      url: '/api/v1/monitors?label=team:dba&label=env:prod',
      headers: h.as('viewer'),
    })
    expect(ids(dba.json())).toEqual(['page-a', 'page-d'])
    const one = await h.app.inject({
      url: '/api/v1/monitors?label=team:net',
      headers: h.as('viewer'),
    })
    expect(ids(one.json())).toEqual(['page-c'])
    const bad = await h.app.inject({ url: '/api/v1/monitors?label=team', headers: h.as('viewer') })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('label filter must be key:value')
    const paused = await h.app.inject({
      url: '/api/v1/monitors?state=paused',
      headers: h.as('viewer'),
    })
    expect(ids(paused.json())).toEqual([])
    const badState = await h.app.inject({
      url: '/api/v1/monitors?state=sleepy',
      headers: h.as('viewer'),
    })
    expect(badState.statusCode).toBe(400)
    expect(badState.json().error.message).toContain('query parameter state')
  })

  it.skipIf(kind.skipReason)('runs a check on demand without recording it', async () => {
    for (const [id, port] of [
      ['check-open', listener.port],
      ['check-closed', await closedPort()],
    ] as const) {
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: { id, ...tcp(port), timeout: '5s' },
      })
    }
    const open = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors/check-open/check',
      headers: h.as('responder'),
    })
    expect(open.statusCode).toBe(200)
    expect(open.json()).toMatchObject({ monitor: 'check-open', status: 'up' })
    expect(open.json().latencyMs).toBeTypeOf('number')
    const closed = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors/check-closed/check',
      headers: h.as('responder'),
    })
    expect(closed.json()).toMatchObject({ monitor: 'check-closed', status: 'down' })
    const results = await h.app.inject({
      url: '/api/v1/monitors/check-open/results',
      headers: h.as('viewer'),
    })
    expect(results.json()).toEqual({ items: [] })
    const view = await h.app.inject({
      url: '/api/v1/monitors/check-open',
      headers: h.as('viewer'),
    })
    expect(view.json().state).toBe('pending')
  })

  it.skipIf(kind.skipReason)('refuses to probe a heartbeat monitor', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: { id: 'hb-check', type: 'heartbeat', period: '1m', grace: '30s' },
    })
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors/hb-check/check',
      headers: h.as('responder'),
    })
    expect(response.statusCode).toBe(409)
    expect(response.json().error.message).toContain('heartbeat')
  })

  it.skipIf(kind.skipReason)(
    'shows results, history, pings and roll-ups of a monitor, newest first with cursors',
    async () => {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: { id: 'nightly', type: 'heartbeat', period: '1m', grace: '30s', retries: 0 },
      })
      const pingPath = created.json().pingPath as string
      const start = h.clock.now()
      for (const suffix of ['', '', '/fail']) {
        h.clock.advance(60_000)
        expect((await h.app.inject({ method: 'POST', url: `${pingPath}${suffix}` })).body).toBe(
          'OK',
        )
      }
      const page1 = await h.app.inject({
        url: '/api/v1/monitors/nightly/results?limit=2',
        headers: h.as('viewer'),
      })
      expect(page1.statusCode).toBe(200)
      const body1 = page1.json()
      expect(body1.items.map((r: { status: string }) => r.status)).toEqual(['down', 'up'])
      expect(body1.items[0]).toMatchObject({ checkedAt: start + 180_000 })
      expect(body1.items[0]).not.toHaveProperty('monitorId')
      expect(body1.next).toBe(String(start + 120_000))
      const page2 = await h.app.inject({
        url: `/api/v1/monitors/nightly/results?limit=2&before=${body1.next}`,
        headers: h.as('viewer'),
      })
      expect(page2.json().items.map((r: { checkedAt: number }) => r.checkedAt)).toEqual([
        start + 60_000,
      ])
      expect(page2.json().next).toBeUndefined()
      const iso = await h.app.inject({
        url: `/api/v1/monitors/nightly/results?before=${new Date(start + 120_000).toISOString()}`,
        headers: h.as('viewer'),
      })
      expect(iso.json().items).toHaveLength(1)
      const badBefore = await h.app.inject({
        url: '/api/v1/monitors/nightly/results?before=yesterday',
        headers: h.as('viewer'),
      })
      expect(badBefore.statusCode).toBe(400)
      expect(badBefore.json().error.message).toContain('before must be an ISO 8601 time')

      const history = await h.app.inject({
        url: '/api/v1/monitors/nightly/history',
        headers: h.as('viewer'),
      })
      expect(history.json().items.map((c: { to: string }) => c.to)).toEqual(['down', 'up'])

      const pings = await h.app.inject({
        url: '/api/v1/monitors/nightly/pings?limit=2',
        headers: h.as('viewer'),
      })
      expect(pings.json().items.map((p: { kind: string }) => p.kind)).toEqual(['fail', 'success'])
      expect(pings.json().items[0]).toMatchObject({ source: '127.0.0.1' })

      const rollups = await h.app.inject({
        url: '/api/v1/monitors/nightly/rollups?resolution=m',
        headers: h.as('viewer'),
      })
      expect(rollups.statusCode).toBe(200)
      expect(rollups.json()).toEqual({ items: [] })
      const wide = await h.app.inject({
        url: '/api/v1/monitors/nightly/rollups?resolution=m&from=0',
        headers: h.as('viewer'),
      })
      expect(wide.statusCode).toBe(400)
      expect(wide.json().error.message).toContain('coarser resolution')
      const badResolution = await h.app.inject({
        url: '/api/v1/monitors/nightly/rollups?resolution=y',
        headers: h.as('viewer'),
      })
      expect(badResolution.statusCode).toBe(400)
      expect(badResolution.json().error.message).toContain('query parameter resolution')
      const missing = await h.app.inject({
        url: '/api/v1/monitors/nobody/history',
        headers: h.as('viewer'),
      })
      expect(missing.statusCode).toBe(404)
    },
  )

  it.skipIf(kind.skipReason)('summarises status with problems first', async () => {
    const response = await h.app.inject({ url: '/api/v1/status', headers: h.as('viewer') })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(Object.keys(body.counts).sort()).toEqual(['degraded', 'down', 'paused', 'pending', 'up'])
    expect(body.counts.down).toBeGreaterThanOrEqual(1)
    expect(body.total).toBe(
      Object.values(body.counts as Record<string, number>).reduce((a, b) => a + b, 0),
    )
    expect(body.problems.map((m: { id: string }) => m.id)).toContain('nightly')
    expect(
      body.problems.every((m: { state: string }) => m.state === 'down' || m.state === 'degraded'),
    ).toBe(true)
  })

  it.skipIf(kind.skipReason)('lists alerts, notifications and the audit trail', async () => {
    const alerts = await h.app.inject({
      url: '/api/v1/alerts?status=firing',
      headers: h.as('viewer'),
    })
    expect(alerts.statusCode).toBe(200)
    expect(JSON.stringify(alerts.json().items)).toContain('nightly')
    const resolved = await h.app.inject({
      url: '/api/v1/alerts?status=resolved',
      headers: h.as('viewer'),
    })
    expect(JSON.stringify(resolved.json().items)).not.toContain('nightly')
    const notifications = await h.app.inject({
      url: '/api/v1/notifications?status=pending',
      headers: h.as('viewer'),
    })
    expect(notifications.statusCode).toBe(200)
    expect(Array.isArray(notifications.json().items)).toBe(true)

    const audit = await h.app.inject({
      url: '/api/v1/audit?objectType=monitor&objectId=db-main&limit=1',
      headers: h.as('admin'),
    })
    expect(audit.statusCode).toBe(200)
    const [latest] = audit.json().items
    expect(latest).toMatchObject({ action: 'monitor.delete', actor: 'token:test-operator' })
    expect(latest.source).toBe('127.0.0.1')
    const older = await h.app.inject({
      url: `/api/v1/audit?objectType=monitor&objectId=db-main&before=${audit.json().next}`,
      headers: h.as('admin'),
    })
    expect(older.json().items.map((e: { action: string }) => e.action)).toEqual([
      'monitor.update',
      'monitor.create',
    ])
    const badCursor = await h.app.inject({
      url: '/api/v1/audit?before=abc',
      headers: h.as('admin'),
    })
    expect(badCursor.statusCode).toBe(400)
  })

  it.skipIf(kind.skipReason)('creates a token shown once that works with its role', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: h.as('admin'),
      payload: {
        name: 'grafana',
        role: 'viewer',
        expiresAt: new Date(h.clock.now() + 86_400_000).toISOString(),
      },
    })
    expect(created.statusCode).toBe(201)
    const token = created.json()
    expect(token).toMatchObject({
      name: 'grafana',
      role: 'viewer',
      expiresAt: h.clock.now() + 86_400_000,
    })
    expect(token.token).toMatch(/^keel_/)
    const auth = { authorization: `Bearer ${token.token}` }
    expect((await h.app.inject({ url: '/api/v1/status', headers: auth })).statusCode).toBe(200)
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/v1/monitors/nightly/pause', headers: auth }))
        .statusCode,
    ).toBe(403)
    const past = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: h.as('admin'),
      payload: { name: 'old', role: 'viewer', expiresAt: '2000-01-01T00:00:00Z' },
    })
    expect(past.statusCode).toBe(400)
    expect(past.json().error.message).toContain('expiry')
    const badRole = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: h.as('admin'),
      payload: { name: 'x', role: 'root' },
    })
    expect(badRole.statusCode).toBe(400)
    expect(badRole.json().error.message).toContain('body field role')
  })

  it.skipIf(kind.skipReason)(
    'lists uptime over 24 hours and 30 days from the roll-ups, counting no check twice',
    async () => {
      const db = h.store.db
      const hour = 3_600_000
      const day = 24 * hour
      const today = Date.UTC(2024, 4, 1)
      h.clock.set(today + 12 * hour + 30 * 60_000)
      const labels = { suite: 'uptime' }
      const web = await insertMonitor(
        db,
        {
          slug: 'uptime-web',
          type: 'tcp',
          spec: { ...tcp(), labels },
          source: 'api',
          paused: false,
        },
        h.clock.now(),
        h.clock.now(),
      )
      await insertMonitor(
        db,
        {
          slug: 'uptime-idle',
          type: 'tcp',
          spec: { ...tcp(), labels },
          source: 'api',
          paused: false,
        },
        h.clock.now(),
        h.clock.now(),
      )
      const rollup = (
        resolution: 'd' | 'h' | 'm',
        bucketStart: number,
        count: number,
        failures: number,
      ): Rollup => ({
        monitorId: web.id,
        resolution,
        bucketStart,
        count,
        failures,
        degraded: 0,
        latencySum: count * 10,
        latencyP50: 10,
        latencyP95: 10,
        latencyMax: 10,
      })
      await upsertRollups(db, [
        // Older than 30 days: not counted.
        rollup('d', today - 40 * day, 500, 500),
        rollup('d', today - 21 * day, 60, 30),
        rollup('d', today - day, 60, 0),
        // Hours of yesterday: the day roll-up counts them for 30 days, only the last 24 h show.
        rollup('h', today - 14 * hour, 60, 60),
        rollup('h', today - 4 * hour, 60, 0),
        rollup('h', today + 3 * hour, 60, 15),
        // A minute already in an hour roll-up, then minutes after the last rolled hour.
        rollup('m', today + 11 * hour + 30 * 60_000, 1, 1),
        rollup('m', today + 12 * hour + 5 * 60_000, 1, 1),
        rollup('m', today + 12 * hour + 6 * 60_000, 1, 0),
      ])
      await setMeta(db, 'rollup:d', String(today))
      await setMeta(db, 'rollup:h', String(today + 12 * hour))
      await setMeta(db, 'rollup:m', String(today + 12 * hour + 20 * 60_000))
      const result = (minute: number, status: 'up' | 'down') => ({
        monitorId: web.id,
        checkedAt: today + 12 * hour + minute * 60_000,
        status,
        latencyMs: 10,
        message: '',
      })
      // The first is already in a minute roll-up.
      await insertResults(db, [result(10, 'down'), result(21, 'down'), result(22, 'up')])

      const res = await h.app.inject({
        url: '/api/v1/monitors?label=suite:uptime&uptime=true',
        headers: h.as('viewer'),
      })
      expect(res.statusCode).toBe(200)
      const [idle, shown] = res.json().items
      expect(shown.id).toBe('uptime-web')
      // 24 h: 60 checks at 20:00 yesterday, 60 at 03:00 and 2 + 2 in the current hour.
      expect(shown.uptime.last24h).toBeCloseTo(107 / 124, 10)
      // 30 d: two day roll-ups, then today's hour, minutes and raw results.
      expect(shown.uptime.last30d).toBeCloseTo(137 / 184, 10)
      const hours = shown.uptime.hours as { start: number; count: number; failures: number }[]
      expect(hours).toHaveLength(24)
      expect(hours[0]?.start).toBe(today - 11 * hour)
      expect(hours.filter((x) => x.count > 0)).toEqual([
        { start: today - 4 * hour, count: 60, failures: 0 },
        { start: today + 3 * hour, count: 60, failures: 15 },
        { start: today + 12 * hour, count: 4, failures: 2 },
      ])
      expect(idle.id).toBe('uptime-idle')
      expect(idle.uptime.last24h).toBeUndefined()
      expect(idle.uptime.last30d).toBeUndefined()
      expect(idle.uptime.hours.every((x: { count: number }) => x.count === 0)).toBe(true)

      const plain = await h.app.inject({
        url: '/api/v1/monitors?label=suite:uptime',
        headers: h.as('viewer'),
      })
      expect(plain.json().items[1].uptime).toBeUndefined()
    },
  )
})

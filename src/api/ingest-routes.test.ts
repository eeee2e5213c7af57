import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../ingest/ingest.contract.js'
import { ingestFormats, ingestRouteUrls } from '../ingest/index.js'
import { createIntegration, updateIntegration } from '../services/integrations.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { publicRoutes, routeTable } from './route-guard.js'

const webhookFiring = fixture('alertmanager-webhook-firing.json') as {
  alerts: { fingerprint: string }[]
}
const webhookResolved = fixture('alertmanager-webhook-resolved.json')

describe('the ingest registry', () => {
  it('names every format and route once, and every route is public to the guard', () => {
    const names = ingestFormats.map((f) => f.name)
    expect(new Set(names).size).toBe(names.length)
    expect(new Set(ingestRouteUrls).size).toBe(ingestRouteUrls.length)
    for (const url of ingestRouteUrls) expect(publicRoutes).toContain(url)
  })
})

describe.each(apiStoreKinds)('ingest endpoints on $name', ({ kind }) => {
  let h: ApiHarness
  const keys: Record<'am' | 'pd' | 'generic', string> = { am: '', pd: '', generic: '' }
  const ctx = () => ({
    db: h.store.db,
    clock: h.clock,
    actor: { name: 'test', role: 'operator' as const },
  })

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    keys.am = (
      await createIntegration(ctx(), { id: 'am', kind: 'alertmanager', labels: { env: 'prod' } })
    ).key
    keys.pd = (await createIntegration(ctx(), { id: 'pd', kind: 'pagerduty' })).key
    keys.generic = (await createIntegration(ctx(), { id: 'generic', kind: 'generic' })).key
  }, 60_000)
  afterAll(async () => h?.close())

  async function alerts(status?: string) {
    const response = await h.app.inject({
      url: `/api/v1/alerts${status ? `?status=${status}` : ''}`,
      headers: h.as('viewer'),
    })
    return response.json().items as {
      fingerprint: string
      status: string
      labels: Record<string, string>
      annotations: Record<string, string>
    }[]
  }

  async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
    return h.app.inject({
      method: 'POST',
      url,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      headers: { 'content-type': 'application/json', ...headers },
    })
  }

  function pdEvent(action: string, dedup: string, routingKey = keys.pd) {
    return {
      routing_key: routingKey,
      event_action: action,
      dedup_key: dedup,
      payload: { summary: `${dedup} is broken`, source: 'host-1', severity: 'error' },
    }
  }

  describe('Alertmanager webhook', () => {
    it.skipIf(kind.skipReason)('stores a captured notification and answers success', async () => {
      const response = await post(`/ingest/alertmanager/${keys.am}`, webhookFiring)
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({ status: 'success' })
      const firing = await alerts('firing')
      for (const { fingerprint } of webhookFiring.alerts) {
        const alert = firing.find((a) => a.fingerprint === fingerprint)
        expect(alert, fingerprint).toBeDefined()
        expect(alert?.labels.env).toBe('prod')
      }
      const resolved = await post(`/ingest/alertmanager/${keys.am}`, webhookResolved)
      expect(resolved.statusCode).toBe(200)
      const after = await alerts()
      expect(
        after.find((a) => a.fingerprint === webhookFiring.alerts[0]?.fingerprint)?.status,
      ).toBe('resolved')
    })

    it.skipIf(kind.skipReason)(
      'answers an unknown key with 401 and Keel’s error body',
      async () => {
        const response = await post('/ingest/alertmanager/0000', webhookFiring)
        expect(response.statusCode).toBe(401)
        expect(response.json().error).toMatchObject({ name: 'AuthenticationError' })
        expect(response.json().error.message).toContain('key')
      },
    )

    it.skipIf(kind.skipReason)(
      'answers a key of another kind with 404 naming its endpoint',
      async () => {
        const response = await post(`/ingest/alertmanager/${keys.pd}`, webhookFiring)
        expect(response.statusCode).toBe(404)
        expect(response.json().error.message).toContain('/v2/enqueue')
      },
    )

    it.skipIf(kind.skipReason)('answers a disabled integration with 403', async () => {
      const key = (await createIntegration(ctx(), { id: 'am-off', kind: 'alertmanager' })).key
      await updateIntegration(ctx(), 'am-off', { disabled: true })
      const response = await post(`/ingest/alertmanager/${key}`, webhookFiring)
      expect(response.statusCode).toBe(403)
      expect(response.json().error.message).toContain('disabled')
    })

    it.skipIf(kind.skipReason)('answers a bad payload with 400 naming each field', async () => {
      const response = await post(`/ingest/alertmanager/${keys.am}`, {
        version: '4',
        alerts: [{ status: 'firing', labels: { alertname: 1 } }, { labels: {} }],
      })
      expect(response.statusCode).toBe(400)
      expect(response.json().error.details.map((d: { path: string }) => d.path)).toEqual([
        'alerts[0].labels.alertname',
        'alerts[1].status',
      ])
    })

    it.skipIf(kind.skipReason)('answers a body over 10 MiB with 413', async () => {
      const big = JSON.stringify({ version: '4', alerts: [], pad: 'x'.repeat(10 * 1024 * 1024) })
      const response = await post(`/ingest/alertmanager/${keys.am}`, big)
      expect(response.statusCode).toBe(413)
      expect(response.json().error.message).toContain(String(10 * 1024 * 1024))
    })
  })

  describe('Alertmanager alerts API', () => {
    it.skipIf(kind.skipReason)(
      'takes Prometheus alerts with the key as a Bearer token',
      async () => {
        const response = await post('/api/v2/alerts', [{ labels: { alertname: 'ViaBearer' } }], {
          authorization: `Bearer ${keys.am}`,
        })
        expect(response.statusCode).toBe(200)
        expect((await alerts('firing')).some((a) => a.labels.alertname === 'ViaBearer')).toBe(true)
      },
    )

    it.skipIf(kind.skipReason)(
      'takes them with the key in the path (Prometheus path_prefix)',
      async () => {
        const response = await post(`/ingest/alertmanager/${keys.am}/api/v2/alerts`, [
          { labels: { alertname: 'ViaPath' }, annotations: { summary: 's' } },
        ])
        expect(response.statusCode).toBe(200)
        expect((await alerts('firing')).some((a) => a.labels.alertname === 'ViaPath')).toBe(true)
      },
    )

    it.skipIf(kind.skipReason)('asks for a Bearer key when none is sent', async () => {
      for (const headers of [{}, { authorization: 'Basic dXNlcjpwdw==' }] as Record<
        string,
        string
      >[]) {
        const response = await post('/api/v2/alerts', [{ labels: { alertname: 'X' } }], headers)
        expect(response.statusCode).toBe(401)
        expect(response.headers['www-authenticate']).toBe('Bearer')
        expect(response.json().error.message).toContain('Authorization: Bearer')
      }
      const wrong = await post('/api/v2/alerts', [{ labels: { alertname: 'X' } }], {
        authorization: `Bearer ${h.tokens.admin}`,
      })
      expect(wrong.statusCode).toBe(401)
    })
  })

  describe('PagerDuty Events API v2', () => {
    it.skipIf(kind.skipReason)('answers 202 exactly as PagerDuty does, on both URLs', async () => {
      for (const url of ['/v2/enqueue', '/ingest/pagerduty/v2/enqueue']) {
        const response = await post(url, pdEvent('trigger', `both-${url}`))
        expect(response.statusCode).toBe(202)
        expect(response.json()).toEqual({
          status: 'success',
          message: 'Event processed',
          dedup_key: `both-${url}`,
        })
      }
    })

    it.skipIf(kind.skipReason)(
      'returns the dedup key it made for a trigger without one',
      async () => {
        const { dedup_key: _none, ...event } = pdEvent('trigger', 'x')
        const response = await post('/v2/enqueue', event)
        const dedup = response.json().dedup_key as string
        expect(dedup).toMatch(/^[0-9a-f-]{36}$/)
        const resolve = await post('/v2/enqueue', pdEvent('resolve', dedup))
        expect(resolve.statusCode).toBe(202)
        const alert = (await alerts()).find((a) => a.labels.dedup_key === dedup)
        expect(alert?.status).toBe('resolved')
      },
    )

    it.skipIf(kind.skipReason)('answers an invalid event with PagerDuty’s 400 body', async () => {
      const response = await post('/v2/enqueue', {
        routing_key: keys.pd,
        event_action: 'trigger',
        payload: { summary: 'x', source: 'y', severity: 'fatal' },
      })
      expect(response.statusCode).toBe(400)
      expect(response.json()).toEqual({
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: [
          'payload.severity must be "critical" or "error" or "warning" or "info", got "fatal"',
        ],
      })
    })

    it.skipIf(kind.skipReason)(
      'answers broken JSON and an oversize body in PagerDuty’s shape',
      async () => {
        const broken = await post('/v2/enqueue', '{"routing_key": ')
        expect(broken.statusCode).toBe(400)
        expect(broken.json()).toMatchObject({ status: 'invalid event' })
        expect(broken.json().errors[0]).toMatch(/^body is not valid JSON/)
        const big = await post('/v2/enqueue', {
          ...pdEvent('trigger', 'big'),
          pad: 'x'.repeat(512 * 1024),
        })
        expect(big.statusCode).toBe(400)
        expect(big.json()).toMatchObject({
          status: 'invalid event',
          message: 'Event object is invalid',
        })
        expect(big.json().errors[0]).toContain('524288 bytes')
      },
    )

    it.skipIf(kind.skipReason)(
      'answers an unknown routing key with 401 in PagerDuty’s shape',
      async () => {
        const response = await post('/v2/enqueue', pdEvent('trigger', 'x', 'f'.repeat(32)))
        expect(response.statusCode).toBe(401)
        expect(response.json()).toMatchObject({
          status: 'unauthorized',
          errors: [expect.any(String)],
        })
      },
    )

    it.skipIf(kind.skipReason)(
      'limits a routing key to 120 events a minute, then 429 with Retry-After',
      async () => {
        const key = (await createIntegration(ctx(), { id: 'pd-burst', kind: 'pagerduty' })).key
        const statuses: number[] = []
        let last = await post('/v2/enqueue', pdEvent('trigger', 'burst-0', key))
        for (let i = 1; i <= 121; i++) {
          statuses.push(last.statusCode)
          last = await post('/v2/enqueue', pdEvent('trigger', `burst-${i}`, key))
        }
        expect(statuses.filter((s) => s === 202)).toHaveLength(120)
        expect(last.statusCode).toBe(429)
        expect(last.headers['retry-after']).toBe('1')
        expect(last.json()).toMatchObject({ status: 'throttle event' })
        // Another routing key has its own bucket.
        expect((await post('/v2/enqueue', pdEvent('trigger', 'other-key'))).statusCode).toBe(202)
        h.clock.advance(500)
        expect((await post('/v2/enqueue', pdEvent('trigger', 'burst-late', key))).statusCode).toBe(
          202,
        )
      },
    )
  })

  describe('generic JSON', () => {
    it.skipIf(kind.skipReason)(
      'takes a batch and a single alert, answering fingerprints',
      async () => {
        const batch = await post(`/ingest/generic/${keys.generic}`, fixture('generic-batch.json'))
        expect(batch.statusCode).toBe(200)
        expect(batch.json()).toEqual({
          status: 'success',
          alerts: [
            { fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), status: 'opened' },
            { fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), status: 'unchanged' },
          ],
        })
        const single = await post(`/ingest/generic/${keys.generic}`, fixture('generic-single.json'))
        expect(single.json().alerts).toEqual([expect.objectContaining({ status: 'opened' })])
      },
    )

    it.skipIf(kind.skipReason)(
      'reads JSON whatever the content type, as curl -d sends it',
      async () => {
        for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
          const response = await post(
            `/ingest/generic/${keys.generic}`,
            { labels: { alertname: 'FromCurl' } },
            { 'content-type': contentType },
          )
          expect(response.statusCode).toBe(200)
        }
      },
    )

    it.skipIf(kind.skipReason)(
      'answers an empty body and a body over 1 MiB with what to do',
      async () => {
        const empty = await h.app.inject({ method: 'POST', url: `/ingest/generic/${keys.generic}` })
        expect(empty.statusCode).toBe(400)
        expect(empty.json().error.message).toBe('body is required')
        const big = await post(`/ingest/generic/${keys.generic}`, {
          labels: { alertname: 'Big' },
          annotations: { text: 'x'.repeat(1024 * 1024) },
        })
        expect(big.statusCode).toBe(413)
        expect(big.json().error).toMatchObject({ name: 'PayloadTooLarge' })
        expect(big.json().error.message).toContain('1048576 bytes')
      },
    )
  })

  it.skipIf(kind.skipReason)('lists every ingest route as public and documents it', async () => {
    const table = routeTable(h.app).filter((r) => ingestRouteUrls.includes(r.url))
    expect(table.map((r) => r.url).sort()).toEqual([...ingestRouteUrls].sort())
    expect(table.every((r) => r.role === 'public' && r.method === 'POST')).toBe(true)
    const document = (
      await h.app.inject({ url: '/api/openapi.json', headers: h.as('viewer') })
    ).json() as { paths: Record<string, { post?: { tags?: string[]; security?: unknown[] } }> }
    for (const url of ingestRouteUrls) {
      const operation = document.paths[url.replace(/:(\w+)/g, '{$1}')]?.post
      expect(operation?.tags, url).toEqual(['ingest'])
      expect(operation?.security, url).toEqual([])
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { createMetrics } from './metrics.js'

describe.each(apiStoreKinds)('GET /metrics on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  async function scrape(): Promise<string> {
    const response = await h.app.inject({ url: '/metrics', headers: h.as('viewer') })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toContain('text/plain')
    return response.body
  }

  it.skipIf(kind.skipReason)('exports per-monitor gauges read from the store', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: { id: 'nightly-backup', type: 'heartbeat', period: '1m', grace: '30s' },
    })
    const pingPath = created.json().pingPath as string
    expect(await scrape()).toContain('keel_monitor_up{monitor="nightly-backup",type="heartbeat"} 0')

    await h.app.inject({ method: 'POST', url: `${pingPath}/start` })
    h.clock.advance(2_500)
    await h.app.inject({ method: 'POST', url: pingPath })
    const text = await scrape()
    expect(text).toContain('keel_monitor_up{monitor="nightly-backup",type="heartbeat"} 1')
    expect(text).toContain(
      'keel_monitor_latency_seconds{monitor="nightly-backup",type="heartbeat"} 2.5',
    )

    await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/monitors/nightly-backup',
      headers: h.as('operator'),
    })
    expect(await scrape()).not.toContain('monitor="nightly-backup"')
  })

  it.skipIf(kind.skipReason)('counts what the engine reports', async () => {
    h.metrics.observeCheck({
      monitor: { slug: 'web', type: 'http' },
      outcome: { status: 'down', latencyMs: 120, message: 'HTTP 503' },
      latenessMs: 40,
    })
    h.metrics.observeTransitions([{ transition: { to: 'down' } }])
    h.metrics.observeDelivery('ops-slack', 'retry')
    const text = await scrape()
    expect(text).toContain('keel_checks_total{type="http",status="down"} 1')
    expect(text).toContain('keel_check_duration_seconds_bucket{le="0.25",type="http"} 1')
    expect(text).toContain('keel_check_lateness_seconds_bucket{le="0.05"} 1')
    expect(text).toContain('keel_state_transitions_total{to="down"} 1')
    expect(text).toContain('keel_notifications_total{channel="ops-slack",outcome="retry"} 1')
    expect(text).toContain('keel_process_cpu_seconds_total')
  })
})

describe('createMetrics', () => {
  it('builds independent registries, so several can live in one process', async () => {
    const a = createMetrics()
    const b = createMetrics()
    a.observeDelivery('mail', 'delivered')
    expect((await a.scrape()).text).toContain('keel_notifications_total{channel="mail"')
    expect((await b.scrape()).text).not.toContain('channel="mail"')
  })

  it('exports no per-monitor series before a store is attached', async () => {
    const { text } = await createMetrics().scrape()
    expect(text).toContain('# TYPE keel_monitor_up gauge')
    expect(text).not.toContain('keel_monitor_up{')
  })
})

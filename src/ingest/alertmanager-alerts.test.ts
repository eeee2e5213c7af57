import { describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { alertmanagerAlertsFormat, resolveTimeoutMs } from './alertmanager-alerts.js'
import { contractContext, fixture, runIngestFormatContract } from './ingest.contract.js'

const prometheus = fixture('prometheus-alerts.json') as { labels: Record<string, string> }[]
const now = contractContext.now

runIngestFormatContract(alertmanagerAlertsFormat, {
  captured: [
    {
      name: 'a Prometheus batch with one firing and one resolved alert',
      body: prometheus,
      actions: ['fire', 'resolve'],
    },
    {
      name: 'an alert with labels only',
      body: [{ labels: { alertname: 'X' } }],
      actions: ['fire'],
    },
    { name: 'an empty batch', body: [], actions: [] },
  ],
  rejected: [
    { name: 'an object instead of an array', body: { labels: { alertname: 'X' } }, path: 'body' },
    {
      name: 'an alert without alertname',
      body: [{ labels: { job: 'api' } }],
      path: '[0].labels.alertname',
    },
    {
      name: 'an empty alertname',
      body: [{ labels: { alertname: 'X' } }, { labels: { alertname: '' } }],
      path: '[1].labels.alertname',
    },
    { name: 'labels that are a list', body: [{ labels: ['alertname'] }], path: '[0].labels' },
    {
      name: 'an end before the start',
      body: [
        {
          labels: { alertname: 'X' },
          startsAt: '2024-05-01T12:00:00Z',
          endsAt: '2024-05-01T11:00:00Z',
        },
      ],
      path: '[0].endsAt',
    },
    {
      name: 'an endsAt that is not a time',
      body: [{ labels: { alertname: 'X' }, endsAt: 1714564800 }],
      path: '[0].endsAt',
    },
  ],
})

describe('alertmanagerAlertsFormat', () => {
  it('fires an alert whose end is ahead, to resolve by itself at that end', () => {
    const outcome = alertmanagerAlertsFormat.parse(prometheus, contractContext)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues))
    expect(outcome.items[0]).toMatchObject({
      action: 'fire',
      at: Date.parse('2024-05-01T11:50:00.123Z'),
      endsAt: Date.parse('2024-05-01T12:04:00.123Z'),
      fingerprint: fingerprint(prometheus[0]?.labels ?? {}),
    })
    expect(outcome.items[0]?.annotations).toMatchObject({
      summary: '5xx ratio above 5% for 10m',
      generatorURL: expect.stringContaining('prometheus.example'),
    })
  })

  it('resolves an alert whose end has passed, at that end', () => {
    const outcome = alertmanagerAlertsFormat.parse(prometheus, contractContext)
    expect(outcome.ok && outcome.items[1]).toMatchObject({
      action: 'resolve',
      at: Date.parse('2024-05-01T11:59:00Z'),
    })
  })

  it('gives an alert without endsAt the resolve timeout, and without startsAt now', () => {
    const outcome = alertmanagerAlertsFormat.parse(
      [{ labels: { alertname: 'X' } }],
      contractContext,
    )
    expect(outcome.ok && outcome.items[0]).toMatchObject({
      action: 'fire',
      at: now,
      endsAt: now + resolveTimeoutMs,
    })
    expect(resolveTimeoutMs).toBe(5 * 60_000)
  })

  it('resolves an alert whose endsAt is exactly now', () => {
    const outcome = alertmanagerAlertsFormat.parse(
      [{ labels: { alertname: 'X' }, endsAt: new Date(now).toISOString() }],
      contractContext,
    )
    expect(outcome.ok && outcome.items[0]?.action).toBe('resolve')
  })

  it('reports every bad alert of a batch, not only the first', () => {
    const outcome = alertmanagerAlertsFormat.parse(
      [{ labels: {} }, { labels: { alertname: 'ok' } }, { labels: { job: 'x' } }],
      contractContext,
    )
    expect(!outcome.ok && outcome.issues.map((i) => i.path)).toEqual([
      '[0].labels.alertname',
      '[2].labels.alertname',
    ])
  })
})

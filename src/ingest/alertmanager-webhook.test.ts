import { describe, expect, it } from 'vitest'
import { alertmanagerWebhookFormat } from './alertmanager-webhook.js'
import { contractContext, fixture, runIngestFormatContract } from './ingest.contract.js'

const firing = fixture('alertmanager-webhook-firing.json') as {
  alerts: { labels: Record<string, string>; fingerprint: string; startsAt: string }[]
}
const resolved = fixture('alertmanager-webhook-resolved.json')

function webhook(alerts: unknown[], extra: object = {}) {
  return { version: '4', status: 'firing', receiver: 'keel', alerts, ...extra }
}

const alert = {
  status: 'firing',
  labels: { alertname: 'DiskFull', instance: 'db-1' },
  annotations: { summary: 'disk full' },
  startsAt: '2024-05-01T11:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
}

runIngestFormatContract(alertmanagerWebhookFormat, {
  captured: [
    {
      name: 'a firing group captured from Alertmanager 0.25',
      body: firing,
      actions: ['fire', 'fire'],
    },
    {
      name: 'the same group after one alert resolved',
      body: resolved,
      actions: ['resolve', 'fire'],
    },
    {
      name: 'a payload with notification_reason and truncatedAlerts (newer Alertmanagers)',
      body: webhook([alert], { notification_reason: 'repeat', truncatedAlerts: 3 }),
      actions: ['fire'],
    },
  ],
  rejected: [
    { name: 'a body that is not an object', body: 'hello', path: 'body' },
    { name: 'a body without alerts', body: { version: '4', status: 'firing' }, path: 'alerts' },
    {
      name: 'an unknown payload version',
      body: webhook([alert], { version: '5' }),
      path: 'version',
    },
    {
      name: 'an alert status other than firing or resolved',
      body: webhook([{ ...alert, status: 'pending' }]),
      path: 'alerts[0].status',
    },
    {
      name: 'a label value that is a number',
      body: webhook([{ ...alert, labels: { alertname: 'X', port: 5432 } }]),
      path: 'alerts[0].labels.port',
    },
    {
      name: 'an alert without labels',
      body: webhook([{ ...alert, labels: undefined }]),
      path: 'alerts[0].labels',
    },
    {
      name: 'an alert whose labels are all empty',
      body: webhook([alert, { ...alert, labels: { alertname: '' } }]),
      path: 'alerts[1].labels',
    },
    {
      name: 'a startsAt that is not a time',
      body: webhook([{ ...alert, startsAt: 'yesterday' }]),
      path: 'alerts[0].startsAt',
    },
  ],
})

describe('alertmanagerWebhookFormat', () => {
  it('gives each alert the fingerprint Alertmanager itself reported', () => {
    const outcome = alertmanagerWebhookFormat.parse(firing, contractContext)
    expect(outcome.ok && outcome.items.map((i) => i.fingerprint)).toEqual(
      firing.alerts.map((a) => a.fingerprint),
    )
  })

  it('fires at startsAt and resolves at endsAt, reading nanosecond times and Go’s zero time', () => {
    const outcome = alertmanagerWebhookFormat.parse(resolved, contractContext)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues))
    const [done, still] = outcome.items
    expect(done).toMatchObject({ action: 'resolve', at: Date.parse('2026-11-23T01:37:22.966Z') })
    expect(still).toMatchObject({ action: 'fire', at: Date.parse('2026-11-23T01:37:22.751Z') })
    expect(still?.endsAt).toBeUndefined()
  })

  it('keeps annotations and the generator URL, and each alert with its notification', () => {
    const outcome = alertmanagerWebhookFormat.parse(firing, contractContext)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues))
    expect(outcome.items[0]?.annotations).toEqual({
      generatorURL: 'http://prometheus.example:9090/graph?g0.expr=disk',
      runbook_url: 'https://runbooks.example/disk',
      summary: 'Disk / is 97% full',
    })
    // An empty generatorURL adds nothing.
    expect(outcome.items[1]?.annotations).toEqual({})
    const { alerts, ...notification } = firing
    expect(outcome.items[0]?.payload).toEqual({ ...notification, alerts: [alerts[0]] })
  })

  it('drops labels with an empty value, which never take part in the identity', () => {
    const outcome = alertmanagerWebhookFormat.parse(
      webhook([{ ...alert, labels: { alertname: 'DiskFull', instance: 'db-1', empty: '' } }]),
      contractContext,
    )
    const plain = alertmanagerWebhookFormat.parse(webhook([alert]), contractContext)
    expect(outcome.ok && outcome.items[0]?.labels).toEqual({
      alertname: 'DiskFull',
      instance: 'db-1',
    })
    expect(outcome.ok && outcome.items[0]?.fingerprint).toBe(
      plain.ok && plain.items[0]?.fingerprint,
    )
  })

  it.each([
    { name: 'a firing alert without startsAt fires now', status: 'firing', action: 'fire' },
    { name: 'a resolved alert without endsAt resolves now', status: 'resolved', action: 'resolve' },
  ])('$name', ({ status, action }) => {
    const outcome = alertmanagerWebhookFormat.parse(
      webhook([{ status, labels: { alertname: 'X' } }]),
      contractContext,
    )
    expect(outcome.ok && outcome.items[0]).toMatchObject({ action, at: contractContext.now })
  })

  it('accepts an empty alert list, which changes nothing', () => {
    expect(alertmanagerWebhookFormat.parse(webhook([]), contractContext)).toEqual({
      ok: true,
      items: [],
    })
  })
})

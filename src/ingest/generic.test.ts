import { describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { genericFormat } from './generic.js'
import { contractContext, fixture, runIngestFormatContract } from './ingest.contract.js'

const now = contractContext.now

runIngestFormatContract(genericFormat, {
  captured: [
    {
      name: 'the documented batch with a firing and a resolved alert',
      body: fixture('generic-batch.json'),
      actions: ['fire', 'resolve'],
    },
    {
      name: 'the documented single alert',
      body: fixture('generic-single.json'),
      actions: ['fire'],
    },
    {
      name: 'a bare array of alerts',
      body: [{ labels: { alertname: 'A' } }, { labels: { alertname: 'B' }, status: 'resolved' }],
      actions: ['fire', 'resolve'],
    },
  ],
  rejected: [
    { name: 'a number', body: 42, path: 'body' },
    { name: 'a single alert without labels', body: { annotations: {} }, path: 'labels' },
    {
      name: 'a single alert without alertname',
      body: { labels: { host: 'x' } },
      path: 'labels.alertname',
    },
    {
      name: 'a batch alert without alertname',
      body: { alerts: [{ labels: { alertname: 'A' } }, { labels: { host: 'x' } }] },
      path: 'alerts[1].labels.alertname',
    },
    { name: 'an empty batch', body: { alerts: [] }, path: 'alerts' },
    {
      name: 'an unknown status',
      body: { labels: { alertname: 'A' }, status: 'critical' },
      path: 'status',
    },
    {
      name: 'a status in a bare array',
      body: [{ labels: { alertname: 'A' }, status: 'down' }],
      path: '[0].status',
    },
    {
      name: 'a startsAt in epoch seconds',
      body: { labels: { alertname: 'A' }, startsAt: 1714564800 },
      path: 'startsAt',
    },
    {
      name: 'annotations that are not strings',
      body: { alerts: [{ labels: { alertname: 'A' }, annotations: { count: 3 } }] },
      path: 'alerts[0].annotations.count',
    },
  ],
})

describe('genericFormat', () => {
  it('fingerprints by labels, like Alertmanager, and keeps the annotations', () => {
    const outcome = genericFormat.parse(fixture('generic-single.json'), contractContext)
    expect(outcome.ok && outcome.items[0]).toMatchObject({
      action: 'fire',
      at: now,
      fingerprint: fingerprint({
        alertname: 'DiskAlmostFull',
        host: 'db-1',
        mount: '/var/lib/postgresql',
      }),
      annotations: { summary: '94% used' },
    })
  })

  it('reads times with offsets', () => {
    const outcome = genericFormat.parse(fixture('generic-batch.json'), contractContext)
    expect(outcome.ok && outcome.items.map((i) => i.at)).toEqual([
      Date.parse('2024-05-01T03:00:12Z'),
      Date.parse('2024-05-01T09:00:00Z'),
    ])
  })

  it.each([
    {
      name: 'without status an alert fires',
      alert: { labels: { alertname: 'A' } },
      action: 'fire',
      endsAt: undefined,
    },
    {
      name: 'without status an alert whose endsAt passed resolves',
      alert: { labels: { alertname: 'A' }, endsAt: '2024-05-01T11:00:00Z' },
      action: 'resolve',
      endsAt: undefined,
    },
    {
      name: 'a firing alert with an endsAt ahead resolves by itself then',
      alert: { labels: { alertname: 'A' }, status: 'firing', endsAt: '2024-05-01T13:00:00Z' },
      action: 'fire',
      endsAt: Date.parse('2024-05-01T13:00:00Z'),
    },
    {
      name: 'a resolved alert without endsAt resolves now',
      alert: { labels: { alertname: 'A' }, status: 'resolved' },
      action: 'resolve',
      endsAt: undefined,
    },
  ])('$name', ({ alert, action, endsAt }) => {
    const outcome = genericFormat.parse(alert, contractContext)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues))
    expect(outcome.items[0]?.action).toBe(action)
    expect(outcome.items[0]?.endsAt).toBe(endsAt)
  })

  it('names the fields of a single alert without an alerts[0] prefix', () => {
    const outcome = genericFormat.parse({ labels: { alertname: 7 } }, contractContext)
    expect(!outcome.ok && outcome.issues).toEqual([
      { path: 'labels.alertname', message: 'labels.alertname must be a string, got 7' },
    ])
  })
})

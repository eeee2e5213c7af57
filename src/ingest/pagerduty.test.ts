import { describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { contractContext, fixture, runIngestFormatContract } from './ingest.contract.js'
import { pagerDutyFormat } from './pagerduty.js'

const trigger = fixture('pagerduty-trigger.json') as Record<string, unknown> & {
  payload: Record<string, unknown>
}
const key = '0123456789abcdef0123456789abcdef'

function withPayload(changes: Record<string, unknown>) {
  return { ...trigger, payload: { ...trigger.payload, ...changes } }
}

runIngestFormatContract(pagerDutyFormat, {
  captured: [
    { name: 'a Zabbix-style trigger with every field', body: trigger, actions: ['fire'] },
    {
      name: 'a trigger captured from Alertmanager’s pagerduty_configs',
      body: fixture('pagerduty-from-alertmanager.json'),
      actions: ['fire'],
    },
    {
      name: 'an acknowledge',
      body: fixture('pagerduty-acknowledge.json'),
      actions: ['acknowledge'],
    },
    { name: 'a resolve', body: fixture('pagerduty-resolve.json'), actions: ['resolve'] },
    {
      name: 'a resolve with a partial payload, which is ignored',
      body: { routing_key: key, event_action: 'resolve', dedup_key: 'a', payload: { summary: 1 } },
      actions: ['resolve'],
    },
  ],
  rejected: [
    { name: 'an array', body: [trigger], path: 'body' },
    {
      name: 'an event without routing_key',
      body: { ...trigger, routing_key: undefined },
      path: 'routing_key',
    },
    {
      name: 'an unknown event_action',
      body: { ...trigger, event_action: 'escalate' },
      path: 'event_action',
    },
    {
      name: 'a trigger without payload',
      body: { ...trigger, payload: undefined },
      path: 'payload',
    },
    {
      name: 'a summary over 1024 characters',
      body: withPayload({ summary: 'x'.repeat(1025) }),
      path: 'payload.summary',
    },
    {
      name: 'an unknown severity',
      body: withPayload({ severity: 'high' }),
      path: 'payload.severity',
    },
    {
      name: 'a trigger without source',
      body: withPayload({ source: undefined }),
      path: 'payload.source',
    },
    {
      name: 'a timestamp that is not a time',
      body: withPayload({ timestamp: 'last tuesday' }),
      path: 'payload.timestamp',
    },
    {
      name: 'an acknowledge without dedup_key',
      body: { routing_key: key, event_action: 'acknowledge' },
      path: 'dedup_key',
    },
    {
      name: 'a dedup_key over 255 characters',
      body: { ...trigger, dedup_key: 'k'.repeat(256) },
      path: 'dedup_key',
    },
    {
      name: 'a dedup_key with a NUL character',
      body: { ...trigger, dedup_key: 'a\u0000b' },
      path: 'dedup_key',
    },
    { name: 'links that are not a list', body: { ...trigger, links: 'x' }, path: 'links' },
    {
      name: 'a link without href',
      body: { ...trigger, links: [{ text: 'x' }] },
      path: 'links[0].href',
    },
  ],
})

describe('pagerDutyFormat', () => {
  it('labels a trigger with source, severity, component, group, class, dedup_key and integration', () => {
    const outcome = pagerDutyFormat.parse(trigger, contractContext)
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues))
    const [item] = outcome.items
    expect(item?.labels).toEqual({
      source: 'core-sw-02.dc1.example',
      severity: 'critical',
      component: 'eth0',
      group: 'dc1-core',
      class: 'ping failure',
      dedup_key: 'zabbix-trigger-48211',
      integration: 'contract',
    })
    expect(item?.annotations).toEqual({
      summary: 'PING FAILED on core-sw-02 (10.0.4.2): 100% packet loss',
      custom_details: '{"packet loss":"100%","rtt ms":null,"checks":3}',
      client: 'Zabbix',
      client_url: 'https://zabbix.example/',
      links: JSON.stringify(trigger.links),
      images: JSON.stringify(trigger.images),
    })
    expect(item?.at).toBe(Date.parse('2024-05-01T11:58:30Z'))
    expect(item?.dedupKey).toBe('zabbix-trigger-48211')
  })

  it('fingerprints by integration and dedup key only, so a new summary updates the same alert', () => {
    const first = pagerDutyFormat.parse(trigger, contractContext)
    const changed = pagerDutyFormat.parse(
      withPayload({ summary: 'PING OK', severity: 'info', source: 'elsewhere' }),
      contractContext,
    )
    const ack = pagerDutyFormat.parse(fixture('pagerduty-acknowledge.json'), contractContext)
    const otherIntegration = pagerDutyFormat.parse(trigger, {
      ...contractContext,
      integration: { id: 'other' },
    })
    const expected = fingerprint({ integration: 'contract', dedup_key: 'zabbix-trigger-48211' })
    expect(first.ok && first.items[0]?.fingerprint).toBe(expected)
    expect(changed.ok && changed.items[0]?.fingerprint).toBe(expected)
    expect(ack.ok && ack.items[0]?.fingerprint).toBe(expected)
    expect(otherIntegration.ok && otherIntegration.items[0]?.fingerprint).not.toBe(expected)
  })

  it.each([
    { name: 'absent', dedup: undefined },
    { name: 'empty', dedup: '' },
  ])(
    'gives a trigger whose dedup_key is $name a new UUID, kept in the stored event',
    ({ dedup }) => {
      const body = { ...trigger, dedup_key: dedup }
      const a = pagerDutyFormat.parse(body, contractContext)
      const b = pagerDutyFormat.parse(body, contractContext)
      if (!a.ok || !b.ok) throw new Error('refused')
      expect(a.items[0]?.dedupKey).toMatch(/^[0-9a-f-]{36}$/)
      expect(a.items[0]?.dedupKey).not.toBe(b.items[0]?.dedupKey)
      expect(a.items[0]?.payload).toMatchObject({ dedup_key: a.items[0]?.dedupKey })
    },
  )

  it('never keeps the routing key in the stored event', () => {
    for (const name of ['pagerduty-trigger.json', 'pagerduty-acknowledge.json']) {
      const outcome = pagerDutyFormat.parse(fixture(name), contractContext)
      expect(JSON.stringify(outcome.ok && outcome.items[0]?.payload)).not.toContain(key)
    }
  })

  it('keeps a string custom_details as it is', () => {
    const outcome = pagerDutyFormat.parse(withPayload({ custom_details: 'plain' }), contractContext)
    expect(outcome.ok && outcome.items[0]?.annotations?.custom_details).toBe('plain')
  })

  it('finds the key in routing_key', () => {
    expect(pagerDutyFormat.keyInBody?.(trigger)).toBe(key)
    expect(pagerDutyFormat.keyInBody?.({ routing_key: 7 })).toBeUndefined()
    expect(pagerDutyFormat.keyInBody?.('x')).toBeUndefined()
  })

  it('answers exactly as PagerDuty does', () => {
    expect(
      pagerDutyFormat.accepted({ events: [{ fingerprint: 'f', dedupKey: 'd', status: 'opened' }] }),
    ).toEqual({
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'd' },
    })
    expect(
      pagerDutyFormat.rejected([{ path: 'dedup_key', message: 'dedup_key is required' }]),
    ).toEqual({
      status: 400,
      body: {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ['dedup_key is required'],
      },
    })
  })

  it('answers an oversize body with 400, as PagerDuty documents no 413', () => {
    expect(
      pagerDutyFormat.refused({ status: 413, name: 'PayloadTooLarge', message: 'big' }),
    ).toEqual({
      status: 400,
      body: { status: 'invalid event', message: 'Event object is invalid', errors: ['big'] },
    })
  })
})

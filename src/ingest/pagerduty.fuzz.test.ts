import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from '../api/api-harness.js'
import { createIntegration } from '../services/integrations.js'
import { anyJson, fuzzHttp, fuzzParser, mutatedPayloads, rawBodies } from './fuzz-harness.js'
import { fixture } from './ingest.contract.js'
import { pagerDutyFormat } from './pagerduty.js'

const seeds = [
  fixture('pagerduty-trigger.json'),
  fixture('pagerduty-from-alertmanager.json'),
  fixture('pagerduty-acknowledge.json'),
  fixture('pagerduty-resolve.json'),
]

const shapedEvent = fc.record(
  {
    routing_key: fc.oneof(fc.constant('0123456789abcdef0123456789abcdef'), fc.string()),
    event_action: fc.constantFrom('trigger', 'acknowledge', 'resolve', 'TRIGGER'),
    dedup_key: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.constant('')),
    payload: fc.record(
      {
        summary: fc.string({ unit: 'binary', maxLength: 1100 }),
        source: fc.string({ unit: 'binary' }),
        severity: fc.constantFrom('critical', 'error', 'warning', 'info', 'high'),
        timestamp: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        component: fc.string(),
        group: fc.string(),
        class: fc.string(),
        custom_details: anyJson,
      },
      { requiredKeys: [] },
    ),
    links: fc.array(fc.record({ href: fc.string(), text: fc.string() }, { requiredKeys: [] })),
    images: fc.array(fc.record({ src: fc.string(), alt: fc.string() }, { requiredKeys: [] })),
    client: fc.string(),
    client_url: fc.string(),
  },
  { requiredKeys: ['routing_key', 'event_action'] },
)

describe('PagerDuty parser under fuzzing', () => {
  it('never throws on arbitrary JSON and names a field when it refuses', async () => {
    await fuzzParser(pagerDutyFormat, anyJson)
  })

  it('copes with mutated real events', async () => {
    await fuzzParser(pagerDutyFormat, mutatedPayloads(seeds))
  })

  it('copes with events shaped like the real thing', async () => {
    await fuzzParser(pagerDutyFormat, shapedEvent)
  })
})

describe.each(apiStoreKinds)('/v2/enqueue under fuzzing on $name', ({ kind }) => {
  let h: ApiHarness
  let key = ''
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    const ctx = {
      db: h.store.db,
      clock: h.clock,
      actor: { name: 'fuzz', role: 'operator' as const },
    }
    key = (await createIntegration(ctx, { id: 'pd', kind: 'pagerduty' })).key
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)('accepts an event whose text holds NUL characters', async () => {
    // Found by this fuzzer on PostgreSQL, whose text type cannot hold U+0000.
    const response = await h.app.inject({
      method: 'POST',
      url: '/v2/enqueue',
      payload: {
        routing_key: key,
        event_action: 'trigger',
        payload: { summary: 'disk\u0000full', source: '\u0000', severity: 'critical' },
      },
    })
    expect(response.statusCode, response.body).toBe(202)
  })

  it.skipIf(kind.skipReason)(
    'never answers 5xx',
    async () => {
      // Most bodies carry the real key so they get past authentication to the parser.
      const keyed = fc
        .oneof(mutatedPayloads(seeds), shapedEvent)
        .map((event) =>
          event !== null &&
          typeof event === 'object' &&
          !Array.isArray(event) &&
          'routing_key' in event
            ? { ...event, routing_key: key }
            : event,
        )
      const statuses = await fuzzHttp(
        h,
        // A 202 stands for the one event of the body.
        { url: '/v2/enqueue', acceptedEvents: () => 1 },
        rawBodies(keyed),
      )
      expect(statuses[202]).toBeGreaterThan(0)
      expect(statuses[400]).toBeGreaterThan(0)
    },
    120_000,
  )
})

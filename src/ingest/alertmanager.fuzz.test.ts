import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from '../api/api-harness.js'
import { createIntegration } from '../services/integrations.js'
import { alertmanagerAlertsFormat } from './alertmanager-alerts.js'
import { alertmanagerWebhookFormat } from './alertmanager-webhook.js'
import { fuzzHttp, fuzzParser, mutatedPayloads, anyJson, rawBodies } from './fuzz-harness.js'
import { fixture } from './ingest.contract.js'

const webhookSeeds = [
  fixture('alertmanager-webhook-firing.json'),
  fixture('alertmanager-webhook-resolved.json'),
]
const apiSeeds = [fixture('prometheus-alerts.json'), [{ labels: { alertname: 'X' } }]]

const labelSets = fc.dictionary(
  fc.oneof(fc.constantFrom('alertname', 'severity', ''), fc.string({ unit: 'binary' })),
  fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: 'binary' }) },
    { weight: 1, arbitrary: anyJson },
  ),
)
const times = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('0001-01-01T00:00:00Z', '', '2024-05-01T12:00:00.123456789Z'),
  fc.string(),
)
const shapedWebhook = fc.record(
  {
    version: fc.constantFrom('4', '3', 4),
    status: fc.constantFrom('firing', 'resolved', 'x'),
    alerts: fc.array(
      fc.record(
        {
          status: fc.constantFrom('firing', 'resolved', ''),
          labels: labelSets,
          annotations: labelSets,
          startsAt: times,
          endsAt: times,
          generatorURL: fc.string(),
          fingerprint: fc.string(),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 5 },
    ),
  },
  { requiredKeys: ['alerts'] },
)

describe('Alertmanager parsers under fuzzing', () => {
  it('the webhook parser never throws on arbitrary JSON and names a field when it refuses', async () => {
    await fuzzParser(alertmanagerWebhookFormat, anyJson)
  })

  it('the webhook parser copes with mutated real payloads', async () => {
    await fuzzParser(alertmanagerWebhookFormat, mutatedPayloads(webhookSeeds))
  })

  it('the webhook parser copes with payloads shaped like the real thing', async () => {
    await fuzzParser(alertmanagerWebhookFormat, shapedWebhook)
  })

  it('the alerts API parser never throws on arbitrary JSON', async () => {
    await fuzzParser(alertmanagerAlertsFormat, anyJson)
  })

  it('the alerts API parser copes with mutated Prometheus batches', async () => {
    await fuzzParser(alertmanagerAlertsFormat, mutatedPayloads(apiSeeds))
  })
})

describe.each(apiStoreKinds)('Alertmanager endpoints under fuzzing on $name', ({ kind }) => {
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
    key = (await createIntegration(ctx, { id: 'am', kind: 'alertmanager' })).key
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)(
    'the webhook never answers 5xx',
    async () => {
      const statuses = await fuzzHttp(
        h,
        { url: `/ingest/alertmanager/${key}` },
        rawBodies(fc.oneof(mutatedPayloads(webhookSeeds), shapedWebhook)),
      )
      expect(statuses[200]).toBeGreaterThan(0)
      expect(statuses[400]).toBeGreaterThan(0)
    },
    120_000,
  )

  it.skipIf(kind.skipReason)(
    'the alerts API never answers 5xx',
    async () => {
      const statuses = await fuzzHttp(
        h,
        { url: '/api/v2/alerts', headers: { authorization: `Bearer ${key}` } },
        rawBodies(mutatedPayloads(apiSeeds)),
      )
      expect(statuses[200]).toBeGreaterThan(0)
    },
    120_000,
  )
})

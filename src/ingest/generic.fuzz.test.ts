import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from '../api/api-harness.js'
import { createIntegration } from '../services/integrations.js'
import { anyJson, fuzzHttp, fuzzParser, mutatedPayloads, rawBodies } from './fuzz-harness.js'
import { genericFormat } from './generic.js'
import { fixture } from './ingest.contract.js'

const seeds = [fixture('generic-batch.json'), fixture('generic-single.json')]

describe('generic JSON parser under fuzzing', () => {
  it('never throws on arbitrary JSON and names a field when it refuses', async () => {
    await fuzzParser(genericFormat, anyJson)
  })

  it('copes with mutated documented payloads', async () => {
    await fuzzParser(genericFormat, mutatedPayloads(seeds))
  })
})

describe.each(apiStoreKinds)('/ingest/generic under fuzzing on $name', ({ kind }) => {
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
    key = (await createIntegration(ctx, { id: 'generic', kind: 'generic' })).key
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)(
    'never answers 5xx',
    async () => {
      const statuses = await fuzzHttp(
        h,
        {
          url: `/ingest/generic/${key}`,
          acceptedEvents: (body) => (body as { alerts: unknown[] }).alerts.length,
        },
        rawBodies(fc.oneof(mutatedPayloads(seeds), anyJson)),
      )
      expect(statuses[200]).toBeGreaterThan(0)
      expect(statuses[400]).toBeGreaterThan(0)
    },
    120_000,
  )
})

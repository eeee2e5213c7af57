import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import type { Clock } from '../core/time.js'
import type { IngestItem } from '../ingest/format.js'
import type { Store } from '../store/dialect.js'
import { getIntegration, type Integration } from '../store/integrations.js'
import { listAlerts } from '../store/alerts.js'
import { createIntegration, IngestCommitter } from './integrations.js'

const t0 = Date.UTC(2026, 11, 6, 12)

function item(n: number, payload: unknown = { n }): IngestItem {
  return {
    action: 'fire',
    fingerprint: `fp-${n}`,
    at: t0,
    labels: { alertname: 'Load', instance: `host-${n}` },
    annotations: {},
    payload,
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`ingest group commit on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let integration: Integration
    const clock: Clock = { now: () => t0 }

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      await createIntegration(
        { db: store.db, clock, actor: { name: 'test', role: 'admin' } },
        { id: 'prom', kind: 'generic' },
      )
      integration = (await getIntegration(store.db, 'prom')) as Integration
    })
    afterEach(async () => cleanup())

    it('commits concurrent requests together and answers each after the commit', async () => {
      const committer = new IngestCommitter(store.db)
      const deps = { db: store.db }
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          committer.submit({ deps, integration, kind: 'generic', items: [item(n)], now: t0 }),
        ),
      )
      expect(answers.map((a) => a.events[0]?.status)).toEqual(Array(40).fill('opened'))
      expect(await listAlerts(store.db, { limit: 100 })).toHaveLength(40)
      const inbox = await store.db
        .selectFrom('ingest_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      expect(Number(inbox.n)).toBe(40)
      // Submitted in the same event-loop turn, all 40 share one transaction.
      expect(committer.transactions).toBe(1)
    })

    it('a request that cannot be applied fails alone; the rest of its batch commits', async () => {
      const committer = new IngestCommitter(store.db)
      const deps = { db: store.db }
      const submit = (items: IngestItem[]) =>
        committer.submit({ deps, integration, kind: 'generic', items, now: t0 })
      const results = await Promise.allSettled([
        submit([item(1)]),
        submit([item(2)]),
        // A BigInt cannot be stored as JSON: this request's insert throws inside the batch.
        submit([item(3, { n: 3n })]),
        submit([item(4)]),
      ])
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ])
      const fingerprints = (await listAlerts(store.db, { limit: 100 })).map((a) => a.fingerprint)
      expect(fingerprints.sort()).toEqual(['fp-1', 'fp-2', 'fp-4'])
    })
  })
}

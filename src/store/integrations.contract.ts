import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import type { Store } from './dialect.js'
import * as integrations from './integrations.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)

function integrationInput(
  id: string,
  extra: Partial<Parameters<typeof integrations.insertIntegration>[1]> = {},
) {
  return {
    id,
    kind: 'alertmanager' as const,
    name: `The ${id}`,
    labels: { team: 'sre' },
    keyHash: `hash-of-${id}`,
    ...extra,
  }
}

function event(
  integrationId: string,
  receivedAt: number,
  extra: Partial<integrations.IngestEventInput> = {},
) {
  return {
    integrationId,
    receivedAt,
    kind: 'alertmanager',
    payload: { labels: { alertname: 'X' }, text: 'Zürich 🚨 \u0000 nul' },
    fingerprint: 'd240efc3896bf266',
    status: 'opened',
    ...extra,
  }
}

/** The integrations store contract: the same results on every dialect. */
export function runIntegrationsContract(kind: StoreKind): void {
  describe(`integrations store contract on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    })
    afterEach(async () => {
      await cleanup()
    })

    it('creates, finds by key hash, lists, updates and deletes integrations', async () => {
      const db = store.db
      const created = await integrations.insertIntegration(db, integrationInput('prom'), t0)
      expect(created).toEqual({
        id: 'prom',
        kind: 'alertmanager',
        name: 'The prom',
        labels: { team: 'sre' },
        createdAt: t0,
        updatedAt: t0,
        disabled: false,
        publicStatus: false,
      })
      await integrations.insertIntegration(
        db,
        integrationInput('pd', { kind: 'pagerduty', labels: {}, publicStatus: true }),
        t0,
      )
      expect(await integrations.getIntegration(db, 'pd')).toMatchObject({ publicStatus: true })
      expect(await integrations.getIntegration(db, 'prom')).toEqual(created)
      expect(await integrations.findIntegrationByKeyHash(db, 'hash-of-pd')).toMatchObject({
        id: 'pd',
        kind: 'pagerduty',
      })
      expect(await integrations.findIntegrationByKeyHash(db, 'nope')).toBeUndefined()
      expect((await integrations.listIntegrations(db)).map((i) => i.id)).toEqual(['pd', 'prom'])

      const updated = await integrations.updateIntegration(
        db,
        'prom',
        {
          name: 'Prometheus',
          labels: { env: 'prod' },
          disabled: true,
          keyHash: 'new-hash',
          publicStatus: true,
        },
        t0 + 1,
      )
      expect(updated).toMatchObject({
        publicStatus: true,
        name: 'Prometheus',
        labels: { env: 'prod' },
        disabled: true,
        updatedAt: t0 + 1,
        createdAt: t0,
      })
      expect(await integrations.findIntegrationByKeyHash(db, 'hash-of-prom')).toBeUndefined()
      expect(await integrations.findIntegrationByKeyHash(db, 'new-hash')).toMatchObject({
        id: 'prom',
      })
      expect(await integrations.updateIntegration(db, 'ghost', { name: 'x' }, t0)).toBeUndefined()

      expect(await integrations.deleteIntegration(db, 'prom')).toBe(true)
      expect(await integrations.deleteIntegration(db, 'prom')).toBe(false)
      expect(await integrations.getIntegration(db, 'prom')).toBeUndefined()
    })

    it('refuses a second integration with the same id or key hash', async () => {
      await integrations.insertIntegration(store.db, integrationInput('a'), t0)
      await expect(
        integrations.insertIntegration(store.db, integrationInput('a', { keyHash: 'other' }), t0),
      ).rejects.toThrow()
      await expect(
        integrations.insertIntegration(
          store.db,
          integrationInput('b', { keyHash: 'hash-of-a' }),
          t0,
        ),
      ).rejects.toThrow()
    })

    it('keeps inbox events as received, lists them newest first by page, and prunes by age', async () => {
      const db = store.db
      await integrations.insertIngestEvents(db, [
        event('a', t0),
        event('a', t0 + 1, { dedupKey: 'k-1', status: 'dropped' }),
        event('b', t0 + 2),
      ])
      await integrations.insertIngestEvents(db, [])
      const listed = await integrations.listIngestEvents(db, 'a')
      expect(listed.map((e) => e.status)).toEqual(['dropped', 'opened'])
      expect(listed[0]).toMatchObject({
        integrationId: 'a',
        receivedAt: t0 + 1,
        kind: 'alertmanager',
        dedupKey: 'k-1',
        fingerprint: 'd240efc3896bf266',
        payload: { labels: { alertname: 'X' }, text: 'Zürich 🚨 \u0000 nul' },
      })
      expect(listed[1]?.dedupKey).toBeUndefined()
      const page = await integrations.listIngestEvents(db, 'a', {
        limit: 1,
        beforeId: listed[0]?.id,
      })
      expect(page.map((e) => e.receivedAt)).toEqual([t0])

      expect(await integrations.pruneIngestEvents(db, t0 + 2)).toBe(2)
      expect(await integrations.listIngestEvents(db, 'a')).toEqual([])
      expect(await integrations.listIngestEvents(db, 'b')).toHaveLength(1)
      expect(await integrations.pruneIngestEvents(db, t0 + 2)).toBe(0)
    })

    it('stores a group commit of more inbox rows than one statement may carry', async () => {
      // 10,000 rows × 7 columns is over PostgreSQL's limit of 65,535 parameters a statement.
      const many = Array.from({ length: 10_000 }, (_, i) => event('a', t0 + i))
      await integrations.insertIngestEvents(store.db, many)
      const newest = await integrations.listIngestEvents(store.db, 'a', { limit: 2 })
      expect(newest.map((e) => e.receivedAt)).toEqual([t0 + 9_999, t0 + 9_998])
      expect(await integrations.pruneIngestEvents(store.db, t0 + 10_000, 100_000)).toBe(10_000)
    })

    it('prunes in batches of the given size', async () => {
      await integrations.insertIngestEvents(
        store.db,
        Array.from({ length: 5 }, (_, i) => event('a', t0 + i)),
      )
      expect(await integrations.pruneIngestEvents(store.db, t0 + 10, 2)).toBe(2)
      expect((await integrations.listIngestEvents(store.db, 'a')).map((e) => e.receivedAt)).toEqual(
        [t0 + 4, t0 + 3, t0 + 2],
      )
    })

    it('schedules, moves, lists when due and clears alert expiries', async () => {
      const db = store.db
      await integrations.setAlertExpiries(db, [
        { fingerprint: 'f1', integrationId: 'a', endsAt: t0 + 100 },
        { fingerprint: 'f2', integrationId: 'a', endsAt: t0 + 50 },
        // The last entry per fingerprint wins, even within one batch.
        { fingerprint: 'f1', integrationId: 'a', endsAt: t0 + 10 },
      ])
      await integrations.setAlertExpiries(db, [
        { fingerprint: 'f3', integrationId: 'b', endsAt: t0 + 500 },
      ])
      expect(await integrations.listDueAlertExpiries(db, t0 + 60)).toEqual([
        { fingerprint: 'f1', integrationId: 'a', endsAt: t0 + 10 },
        { fingerprint: 'f2', integrationId: 'a', endsAt: t0 + 50 },
      ])
      await integrations.setAlertExpiries(db, [
        { fingerprint: 'f1', integrationId: 'a', endsAt: t0 + 1_000 },
      ])
      expect(
        (await integrations.listDueAlertExpiries(db, t0 + 60)).map((e) => e.fingerprint),
      ).toEqual(['f2'])
      expect(await integrations.listDueAlertExpiries(db, t0 + 10_000, 1)).toHaveLength(1)
      expect(
        (await integrations.getAlertExpiries(db, ['f1', 'f3', 'zz']))
          .map((e) => e.fingerprint)
          .sort(),
      ).toEqual(['f1', 'f3'])
      await integrations.clearAlertExpiries(db, ['f1', 'f2', 'f1'])
      await integrations.clearAlertExpiries(db, [])
      expect(
        (await integrations.listDueAlertExpiries(db, t0 + 10_000)).map((e) => e.fingerprint),
      ).toEqual(['f3'])
      // Deleting an integration drops its inbox and its pending expiries.
      await integrations.insertIntegration(db, integrationInput('b'), t0)
      await integrations.insertIngestEvents(db, [event('b', t0)])
      await integrations.deleteIntegration(db, 'b')
      expect(await integrations.listDueAlertExpiries(db, t0 + 10_000)).toEqual([])
      expect(await integrations.listIngestEvents(db, 'b')).toEqual([])
    })

    it('locks fingerprints inside a transaction, in any order, without deadlocking', async () => {
      const fingerprints = ['b', 'a', 'c', 'a']
      const runs = Array.from({ length: 4 }, (_, i) =>
        store.db.transaction().execute(async (trx) => {
          await integrations.lockAlertFingerprints(
            trx,
            i % 2 === 0 ? fingerprints : [...fingerprints].reverse(),
          )
          await integrations.lockAlertFingerprints(trx, [])
          return i
        }),
      )
      expect(await Promise.all(runs)).toEqual([0, 1, 2, 3])
    })
  })
}

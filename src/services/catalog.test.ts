import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { groupByRootCause, probableRootCause, type EntitySpec } from '../core/catalog/index.js'
import { upsertAlertByFingerprint } from '../store/alerts.js'
import { upsertEntity } from '../store/catalog.js'
import type { Store } from '../store/dialect.js'
import { insertMonitor } from '../store/monitors.js'
import { loadDependencyContext } from './catalog.js'

const t0 = Date.UTC(2026, 11, 6, 4, 0, 0)
const services = ['accounts', 'orders', 'payments', 'search', 'reports']

function spec(kind: EntitySpec['kind'], dependsOn: string[] = []): EntitySpec {
  return { kind, labels: {}, links: [], dependsOn, runbooks: [] }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`dependency suppression on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      await upsertEntity(store.db, { id: 'db-main', spec: spec('database'), source: 'api' }, t0)
      await upsertEntity(store.db, { id: 'mailer', spec: spec('service'), source: 'api' }, t0)
      for (const id of services)
        await upsertEntity(store.db, { id, spec: spec('service', ['db-main']), source: 'api' }, t0)
    })
    afterEach(async () => cleanup())

    const fire = (entity: string) =>
      upsertAlertByFingerprint(store.db, {
        fingerprint: `fp-${entity}`,
        labels: { alertname: 'ServiceDown', service: entity },
        annotations: {},
        status: 'firing',
        at: t0,
        source: 'test',
      })

    it('db down and five dependent services alerting make one page, about db-main', async () => {
      // The database is down by its monitor; the five services alert on their own.
      const monitor = await insertMonitor(
        store.db,
        {
          slug: 'db-main-port',
          type: 'tcp',
          spec: { type: 'tcp', labels: { entity: 'db-main' } },
          source: 'api',
          paused: false,
        },
        t0,
        t0,
      )
      await store.db
        .updateTable('monitors')
        .set({ state: 'down' })
        .where('id', '=', monitor.id)
        .execute()
      for (const id of services) await fire(id)

      const context = await loadDependencyContext(store.db)
      expect([...context.downEntities].sort()).toEqual(['db-main', ...services].sort())
      const alerts = services.map((id) => ({ fingerprint: `fp-${id}`, entity: id }))
      const groups = groupByRootCause(context.graph, alerts, context.downEntities)
      expect(groups).toHaveLength(1)
      expect(groups[0]?.rootEntity).toBe('db-main')
      expect(groups[0]?.alerts.map((a) => a.path)).toEqual(services.map((id) => [id, 'db-main']))
    })

    it('a firing alert on the database counts as down too; unrelated alerts still page', async () => {
      await fire('db-main')
      await fire('orders')
      await fire('mailer')
      const { graph, downEntities } = await loadDependencyContext(store.db)
      expect(probableRootCause(graph, 'orders', downEntities)).toEqual({
        rootEntity: 'db-main',
        path: ['orders', 'db-main'],
      })
      expect(probableRootCause(graph, 'mailer', downEntities)).toBeUndefined()
      expect(probableRootCause(graph, 'db-main', downEntities)).toBeUndefined()
    })

    it('with the database healthy every service pages for itself', async () => {
      await fire('orders')
      await fire('payments')
      const { graph, downEntities } = await loadDependencyContext(store.db)
      const groups = groupByRootCause(
        graph,
        [{ entity: 'orders' }, { entity: 'payments' }],
        downEntities,
      )
      expect(groups.map((g) => g.rootEntity)).toEqual(['orders', 'payments'])
    })
  })
}

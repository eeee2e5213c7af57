import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import type { EntitySpec } from '../core/catalog/index.js'
import * as catalog from './catalog.js'
import type { Store } from './dialect.js'

const t0 = Date.UTC(2026, 11, 6, 4, 0, 0)

function spec(extra: Partial<EntitySpec> = {}): EntitySpec {
  return { kind: 'service', labels: {}, links: [], dependsOn: [], runbooks: [], ...extra }
}

/** The catalog store contract: the same results on every dialect. */
export function runCatalogContract(kind: StoreKind): void {
  describe(`catalog store contract on ${kind.name}`, () => {
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

    it('creates, replaces, reads and deletes an entity with its whole spec', async () => {
      const db = store.db
      const full = spec({
        kind: 'database',
        name: 'Main database – Zürich 🚀',
        description: 'PostgreSQL primary',
        owner: 'team-db',
        tier: 1,
        lifecycle: 'production',
        labels: { env: 'prod' },
        links: [{ title: 'Runbook', url: 'https://wiki.example.org/db' }],
        dependsOn: ['db-host-1'],
        runbooks: ['db-failover'],
      })
      const created = await catalog.upsertEntity(
        db,
        { id: 'db-main', spec: full, source: 'file:keel.yaml' },
        t0,
      )
      expect(created).toEqual({
        id: 'db-main',
        ...full,
        source: 'file:keel.yaml',
        createdAt: t0,
        updatedAt: t0,
      })
      expect(await catalog.getEntity(db, 'db-main')).toEqual(created)

      const replaced = await catalog.upsertEntity(
        db,
        { id: 'db-main', spec: spec({ kind: 'database' }), source: 'api' },
        t0 + 5,
      )
      expect(replaced).toEqual({
        id: 'db-main',
        ...spec({ kind: 'database' }),
        source: 'api',
        createdAt: t0,
        updatedAt: t0 + 5,
      })
      expect(await catalog.deleteEntity(db, 'db-main')).toBe(true)
      expect(await catalog.deleteEntity(db, 'db-main')).toBe(false)
      expect(await catalog.getEntity(db, 'db-main')).toBeUndefined()
    })

    it('filters by kind, owner, lifecycle, tier, system and search, and pages by id', async () => {
      const db = store.db
      const rows: [string, Partial<EntitySpec>][] = [
        ['api', { owner: 'web', tier: 1, lifecycle: 'production', system: 'shop' }],
        ['db-main', { kind: 'database', owner: 'dba', name: 'Main DB', tier: 1 }],
        ['db_replica', { kind: 'database', owner: 'dba', name: '100% replica' }],
        ['search', { owner: 'web', lifecycle: 'experimental', system: 'shop' }],
        ['shop', { kind: 'system' }],
      ]
      for (const [id, extra] of rows)
        await catalog.upsertEntity(db, { id, spec: spec(extra), source: 'api' }, t0)
      const ids = async (filter: catalog.EntityFilter) =>
        (await catalog.listEntities(db, filter)).map((e) => e.id)
      expect(await ids({})).toEqual(['api', 'db-main', 'db_replica', 'search', 'shop'])
      expect(await ids({ kind: 'database' })).toEqual(['db-main', 'db_replica'])
      expect(await ids({ owner: 'web' })).toEqual(['api', 'search'])
      expect(await ids({ lifecycle: 'production' })).toEqual(['api'])
      expect(await ids({ tier: 1 })).toEqual(['api', 'db-main'])
      expect(await ids({ system: 'shop' })).toEqual(['api', 'search'])
      expect(await ids({ search: 'MAIN' })).toEqual(['db-main'])
      // `%` and `_` are matched as themselves, not as wildcards.
      expect(await ids({ search: '100%' })).toEqual(['db_replica'])
      expect(await ids({ search: 'db_' })).toEqual(['db_replica'])
      expect(await ids({ limit: 2 })).toEqual(['api', 'db-main'])
      expect(await ids({ limit: 2, afterId: 'db-main' })).toEqual(['db_replica', 'search'])
      expect((await catalog.listAllEntities(db)).map((e) => e.id)).toHaveLength(5)
    })

    it('keeps one row per id: a second upsert replaces the first', async () => {
      await catalog.upsertEntity(store.db, { id: 'a', spec: spec(), source: 'api' }, t0)
      await catalog.upsertEntity(store.db, { id: 'a', spec: spec({ tier: 2 }), source: 'api' }, t0)
      expect(await catalog.listAllEntities(store.db)).toHaveLength(1)
    })
  })
}

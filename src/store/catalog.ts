import { sql, type Selectable } from 'kysely'
import type { Entity, EntityKind, EntitySpec } from '../core/catalog/index.js'
import { parseJson, type Executor } from './dialect.js'
import type { CatalogEntityRow } from './schema-catalog.js'

/** A stored catalog entity: the entity, where it came from, and when it changed. */
export interface StoredEntity extends Entity {
  /** `file:<path>` for entities keel.yaml or an imported catalog file defines, `api` otherwise. */
  source: string
  createdAt: number
  updatedAt: number
}

/** Filters of {@link listEntities}; every one given must match. */
export interface EntityFilter {
  kind?: EntityKind
  owner?: string
  lifecycle?: string
  tier?: number
  system?: string
  /** Part of the id or the display name, any case. */
  search?: string
  /** Keyset cursor: only ids after this one. */
  afterId?: string
  limit?: number
}

function entityFromRow(row: Selectable<CatalogEntityRow>): StoredEntity {
  const spec = parseJson<EntitySpec>(row.spec, {
    kind: row.kind as EntityKind,
    labels: {},
    links: [],
    dependsOn: [],
    runbooks: [],
  })
  return {
    id: row.id,
    ...spec,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function rowValues(id: string, spec: EntitySpec) {
  return {
    kind: spec.kind,
    name: spec.name ?? id,
    owner: spec.owner ?? null,
    tier: spec.tier ?? null,
    lifecycle: spec.lifecycle ?? null,
    system: spec.system ?? null,
    spec: JSON.stringify(spec),
  }
}

/** Creates or replaces an entity; `createdAt` survives a replace. */
export async function upsertEntity(
  db: Executor,
  input: { id: string; spec: EntitySpec; source: string },
  now: number,
): Promise<StoredEntity> {
  const values = rowValues(input.id, input.spec)
  const row = await db
    .insertInto('catalog_entities')
    .values({ id: input.id, ...values, source: input.source, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ ...values, source: input.source, updated_at: now }),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
  return entityFromRow(row)
}

/** One entity by id. */
export async function getEntity(db: Executor, id: string): Promise<StoredEntity | undefined> {
  const row = await db
    .selectFrom('catalog_entities')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? entityFromRow(row) : undefined
}

/** Entities matching `filter`, by id, a page at a time (`limit` default 100). */
export async function listEntities(
  db: Executor,
  filter: EntityFilter = {},
): Promise<StoredEntity[]> {
  let query = db
    .selectFrom('catalog_entities')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit ?? 100)
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind)
  if (filter.owner !== undefined) query = query.where('owner', '=', filter.owner)
  if (filter.lifecycle !== undefined) query = query.where('lifecycle', '=', filter.lifecycle)
  if (filter.tier !== undefined) query = query.where('tier', '=', filter.tier)
  if (filter.system !== undefined) query = query.where('system', '=', filter.system)
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
  if (filter.search !== undefined && filter.search !== '') {
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    const pattern = `%${filter.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    // SQLite's LIKE has no escape character unless told; PostgreSQL's default is the same `\`.
    query = query.where(
      sql<boolean>`(lower(id) like ${pattern} escape '\\' or lower(name) like ${pattern} escape '\\')`,
    )
  }
  return (await query.execute()).map(entityFromRow)
}

/** Every entity, by id: the whole graph, which catalogs of thousands still read in one query. */
export async function listAllEntities(db: Executor): Promise<StoredEntity[]> {
  const rows = await db.selectFrom('catalog_entities').selectAll().orderBy('id').execute()
  return rows.map(entityFromRow)
}

/** Deletes an entity; false when it did not exist. */
export async function deleteEntity(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('catalog_entities').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

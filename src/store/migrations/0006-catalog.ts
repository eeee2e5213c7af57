import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * The service catalog: one row per entity, its spec as JSON beside the columns lists filter on,
 * and its source (`file:<path>` for config-managed entities, `api` for those made over HTTP).
 */
export function catalogMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('catalog_entities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('tier', 'integer')
        .addColumn('lifecycle', 'text')
        .addColumn('system', 'text')
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('catalog_entities_kind')
        .on('catalog_entities')
        .columns(['kind', 'id'])
        .execute()
      await db.schema
        .createIndex('catalog_entities_owner')
        .on('catalog_entities')
        .columns(['owner', 'id'])
        .execute()
    },
  }
}

import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Schedule overrides made through the API, the CLI or the UI ("I take Saturday"): they sit above
 * the overrides of keel.yaml, so an operator swaps a shift without editing the config.
 */
export function scheduleOverridesMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('schedule_overrides')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('schedule_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('schedule_overrides_range')
        .on('schedule_overrides')
        .columns(['ends_at', 'starts_at'])
        .execute()
    },
  }
}

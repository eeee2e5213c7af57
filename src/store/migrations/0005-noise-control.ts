import { sql, type Kysely, type Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Noise control: silences and maintenance windows made through the API, why a firing alert is
 * muted (`alerts.suppressed_by`), and the durable aggregation groups of the routing tree, whose
 * `next_flush_at` is the group timer (group_wait, group_interval) a restart must not lose.
 */
export function noiseControlMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres'
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('recurrence', 'text')
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('expiry_notified_at', 'bigint')
        .execute()
      await db.schema.createIndex('silences_ends').on('silences').columns(['ends_at']).execute()

      await db.schema
        .createTable('maintenance_windows')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull())
        .addColumn('one_off_start', 'bigint')
        .addColumn('one_off_end', 'bigint')
        .addColumn('recurring', 'text')
        .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema.alterTable('alerts').addColumn('suppressed_by', 'text').execute()
      await db.schema
        .createIndex('alerts_suppressed')
        .on('alerts')
        .columns(['status'])
        .where(sql<boolean>`suppressed_by is not null`)
        .execute()

      await db.schema
        .createTable('alert_groups')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('route_id', 'text', (c) => c.notNull())
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('next_flush_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .modifyEnd(pg ? sql`` : sql`without rowid`)
        .execute()
      await db.schema
        .createIndex('alert_groups_due')
        .on('alert_groups')
        .columns(['next_flush_at'])
        .execute()
    },
  }
}

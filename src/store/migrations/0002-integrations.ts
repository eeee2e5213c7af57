import { sql, type Kysely, type Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Integrations (ingest endpoints with their own keys) and the durable inbox of accepted events. */
export function integrationsMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres'
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('integrations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        // sha256 of the secret key; the key itself is shown once and never stored.
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()

      await db.schema
        .createTable('ingest_events')
        .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('integration_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('dedup_key', 'text')
        .addColumn('fingerprint', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .execute()
      // Listing one integration's recent events, newest first.
      await db.schema
        .createIndex('ingest_events_integration')
        .on('ingest_events')
        .columns(['integration_id', 'id'])
        .execute()
      // Retention deletes by age.
      await db.schema
        .createIndex('ingest_events_received')
        .on('ingest_events')
        .columns(['received_at'])
        .execute()

      // When an alert sent without a resolve (Alertmanager's alerts API) is due to resolve itself.
      await db.schema
        .createTable('alert_expiries')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('integration_id', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .modifyEnd(pg ? sql`` : sql`without rowid`)
        .execute()
      await db.schema
        .createIndex('alert_expiries_due')
        .on('alert_expiries')
        .columns(['ends_at'])
        .execute()
    },
  }
}

import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely'
import type { Dialect } from './dialect.js'
import { integrationsMigration } from './migrations/0002-integrations.js'
import { incidentsMigration } from './migrations/0003-incidents.js'
import { escalationMigration } from './migrations/0004-escalation.js'
import { noiseControlMigration } from './migrations/0005-noise-control.js'
import { catalogMigration } from './migrations/0006-catalog.js'
import { runbooksMigration } from './migrations/0007-runbooks.js'
import { accessMigration } from './migrations/0008-access.js'
import { scheduleOverridesMigration } from './migrations/0009-schedule-overrides.js'
import { linkGrantsTokenOwnersMigration } from './migrations/0010-link-grants-token-owners.js'
import { runbookRunLeasesMigration } from './migrations/0012-runbook-run-leases.js'
import { integrationPublicStatusMigration } from './migrations/0013-integration-public-status.js'

// Migrations are code, named so they sort in order. Never edit one that has shipped: add another.
// `Kysely<any>` is the documented type for migrations, which must not depend on today's schema.

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyDb = Kysely<any>

function types(dialect: Dialect) {
  const pg = dialect === 'postgres'
  return {
    id: pg ? ('bigserial' as const) : ('integer' as const),
    real: pg ? ('double precision' as const) : ('real' as const),
    // bigserial is PostgreSQL's auto-increment; SQLite's is `integer primary key autoincrement`.
    idColumn: (c: ColumnDefinitionBuilder) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    // SQLite tables with a natural key skip the hidden rowid b-tree: half the bytes per row.
    withoutRowid: (sqlText: string) =>
      pg ? sql.raw(sqlText) : sql.raw(`${sqlText} without rowid`),
  }
}

function initial(dialect: Dialect): Migration {
  const t = types(dialect)
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('keel_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('monitors')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('state_since', 'bigint', (c) => c.notNull())
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('consecutive_successes', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('history', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('flapping', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_checked_at', 'bigint')
        .addColumn('last_status', 'text')
        .addColumn('last_latency_ms', t.real)
        .addColumn('last_message', 'text')
        .addColumn('next_due_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('ping_token', 'text', (c) => c.unique())
        .addColumn('last_ping_at', 'bigint')
        .addColumn('deleted_at', 'bigint')
        .execute()
      await db.schema
        .createIndex('monitors_lease')
        .on('monitors')
        .columns(['lease_until'])
        .execute()
      await db.schema
        .createIndex('monitors_updated')
        .on('monitors')
        .columns(['updated_at'])
        .execute()

      await db.schema
        .createTable('check_results')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('monitor_id', 'bigint', (c) => c.notNull())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', t.real, (c) => c.notNull())
        .addColumn('message', 'text')
        .addColumn('metrics', 'text')
        .execute()
      await db.schema
        .createIndex('check_results_monitor_time')
        .on('check_results')
        .columns(['monitor_id', 'checked_at'])
        .execute()
      await db.schema
        .createIndex('check_results_time')
        .on('check_results')
        .columns(['checked_at'])
        .execute()

      await db.schema
        .createTable('result_rollups')
        .addColumn('monitor_id', 'bigint', (c) => c.notNull())
        .addColumn('resolution', 'text', (c) => c.notNull())
        .addColumn('bucket_start', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('degraded', 'integer', (c) => c.notNull())
        .addColumn('latency_sum', t.real, (c) => c.notNull())
        .addColumn('latency_p50', t.real, (c) => c.notNull())
        .addColumn('latency_p95', t.real, (c) => c.notNull())
        .addColumn('latency_max', t.real, (c) => c.notNull())
        .addPrimaryKeyConstraint('result_rollups_pk', ['monitor_id', 'resolution', 'bucket_start'])
        .modifyEnd(t.withoutRowid(''))
        .execute()
      await db.schema
        .createIndex('result_rollups_time')
        .on('result_rollups')
        .columns(['resolution', 'bucket_start'])
        .execute()

      await db.schema
        .createTable('state_changes')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('monitor_id', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('from_state', 'text', (c) => c.notNull())
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('flapping', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema
        .createIndex('state_changes_monitor_time')
        .on('state_changes')
        .columns(['monitor_id', 'at'])
        .execute()

      await db.schema
        .createTable('heartbeat_pings')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('monitor_id', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('exit_status', 'integer')
        .addColumn('body', 'text')
        .addColumn('source', 'text')
        .execute()
      await db.schema
        .createIndex('heartbeat_pings_monitor_time')
        .on('heartbeat_pings')
        .columns(['monitor_id', 'received_at'])
        .execute()

      await db.schema
        .createTable('alerts')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('event_count', 'integer', (c) => c.notNull().defaultTo(1))
        .execute()
      await db.schema.createIndex('alerts_status').on('alerts').columns(['status']).execute()

      await db.schema
        .createTable('channels')
        .addColumn('slug', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('channel_slug', 'text', (c) => c.notNull())
        .addColumn('alert_fingerprint', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute()
      await db.schema
        .createIndex('notifications_due')
        .on('notifications')
        .columns(['status', 'next_attempt_at'])
        .execute()

      await db.schema
        .createTable('users')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute()

      await db.schema
        .createTable('audit_events')
        .addColumn('id', t.id, t.idColumn)
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('object_type', 'text', (c) => c.notNull())
        .addColumn('object_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text')
        .addColumn('details', 'text')
        .execute()
      await db.schema.createIndex('audit_events_time').on('audit_events').columns(['at']).execute()
    },
  }
}

/** Every migration, keyed by a name that sorts in the order they run. */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-integrations': integrationsMigration(dialect),
    '0003-incidents': incidentsMigration(dialect),
    '0004-escalation': escalationMigration(dialect),
    '0005-noise-control': noiseControlMigration(dialect),
    '0006-catalog': catalogMigration(dialect),
    '0007-runbooks': runbooksMigration(dialect),
    '0008-access': accessMigration(dialect),
    '0009-schedule-overrides': scheduleOverridesMigration(dialect),
    '0010-link-grants-token-owners': linkGrantsTokenOwnersMigration(dialect),
    '0012-runbook-run-leases': runbookRunLeasesMigration(dialect),
    '0013-integration-public-status': integrationPublicStatusMigration(dialect),
  }
}

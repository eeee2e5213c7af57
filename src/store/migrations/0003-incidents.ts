import { sql, type Kysely, type Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

// "Open" in the partial unique index; `insertIncident` (store/incidents.ts) repeats the same text
// in its ON CONFLICT target, which must match the index predicate exactly.
const openIncidentPredicate = sql<boolean>`status <> 'resolved'`

async function createIncidentTables(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres'
  await db.schema
    .createTable('incidents')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('assignee', 'text')
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('service', 'text')
    .addColumn('team', 'text')
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('resolved_at', 'bigint')
    .addColumn('ack_timeout_ms', 'bigint')
    .addColumn('ack_timeout_at', 'bigint')
    .addColumn('auto_resolve', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  // Listing open incidents (status <> 'resolved', newest first) and filtering by status.
  await db.schema
    .createIndex('incidents_status')
    .on('incidents')
    .columns(['status', 'id'])
    .execute()
  // At most one open incident per group key, so two nodes grouping alerts at once cannot open two.
  await db.schema
    .createIndex('incidents_open_group')
    .on('incidents')
    .column('group_key')
    .unique()
    .where(openIncidentPredicate)
    .execute()
  // Every incident of a group, for history.
  await db.schema
    .createIndex('incidents_group')
    .on('incidents')
    .columns(['group_key', 'id'])
    .execute()
  await db.schema.createIndex('incidents_created').on('incidents').column('created_at').execute()
  await db.schema
    .createIndex('incidents_ack_timeout')
    .on('incidents')
    .column('ack_timeout_at')
    .where(sql<boolean>`ack_timeout_at is not null`)
    .execute()

  await db.schema
    .createTable('incident_alerts')
    .addColumn('incident_id', 'bigint', (c) => c.notNull())
    .addColumn('alert_id', 'bigint', (c) => c.notNull())
    .addColumn('attached_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_alerts_pk', ['incident_id', 'alert_id'])
    .modifyEnd(pg ? sql`` : sql`without rowid`)
    .execute()
  await db.schema
    .createIndex('incident_alerts_alert')
    .on('incident_alerts')
    .columns(['alert_id', 'incident_id'])
    .execute()

  await db.schema
    .createTable('incident_timeline')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('incident_id', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('data', 'text')
    .execute()
  await db.schema
    .createIndex('incident_timeline_incident')
    .on('incident_timeline')
    .columns(['incident_id', 'id'])
    .execute()
}

/**
 * Incidents, the alerts linked to them and their timeline. The escalation tables that refer to
 * incidents by id come in migration 0004.
 */
export function incidentsMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await createIncidentTables(db, dialect)
    },
  }
}

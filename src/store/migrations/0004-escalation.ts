import { sql, type Kysely, type Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Escalations (one row per incident), their durable due steps and the round-robin cursors. The
 * unique key on (incident_id, round, level, repeat_index) is what makes a step impossible to
 * queue twice, whichever node or retry tries.
 */
export function escalationMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres'
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('escalations')
        .addColumn('incident_id', 'bigint', (c) => c.primaryKey())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('escalation_steps')
        .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('incident_id', 'bigint', (c) => c.notNull())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('repeat_index', 'integer', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('done_at', 'bigint')
        .addColumn('outcome', 'text')
        .addUniqueConstraint('escalation_steps_once', [
          'incident_id',
          'round',
          'level',
          'repeat_index',
        ])
        .execute()
      // Claiming due work scans only pending rows, oldest due first.
      await db.schema
        .createIndex('escalation_steps_due')
        .on('escalation_steps')
        .columns(['due_at'])
        .where(sql<boolean>`status = 'pending'`)
        .execute()

      await db.schema
        .createTable('escalation_cursors')
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('escalation_cursors_pk', ['policy_id', 'level'])
        .modifyEnd(pg ? sql`` : sql`without rowid`)
        .execute()
    },
  }
}

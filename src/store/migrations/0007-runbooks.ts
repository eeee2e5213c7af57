import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Runbook runs and the steps they took: the audit record of who ran what with which
 * parameters, who approved it, and what each step printed (truncated).
 */
export function runbooksMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres'
  const id = pg ? ('bigserial' as const) : ('integer' as const)
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('runbook_runs')
        .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('runbook', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        // The runbook file as it was when the run started: what ran is what was approved.
        .addColumn('runbook_source', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('current_step', 'text')
        .addColumn('steps_taken', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reason', 'text')
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text')
        .addColumn('automatic', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'bigint')
        .addColumn('incident_id', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('runbook_runs_runbook_time')
        .on('runbook_runs')
        .columns(['runbook', 'requested_at'])
        .execute()
      await db.schema
        .createIndex('runbook_runs_incident')
        .on('runbook_runs')
        .columns(['incident_id'])
        .execute()

      await db.schema
        .createTable('runbook_run_steps')
        .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('run_id', 'bigint', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('note', 'text')
        .addColumn('answer', 'text')
        .addColumn('exit_code', 'integer')
        .addColumn('http_status', 'integer')
        .addColumn('summary', 'text')
        .addColumn('output', 'text')
        .addColumn('output_truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema
        .createIndex('runbook_run_steps_run')
        .on('runbook_run_steps')
        .columns(['run_id', 'id'])
        .execute()
    },
  }
}

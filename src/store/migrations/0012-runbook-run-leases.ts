import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Runbook runs carry a lease while a node executes one of their steps, and the process group of
 * the command it runs, so a node that dies mid-step leaves a run that another node (or the same
 * one after a restart) can find, mark interrupted and clean up after.
 */
export function runbookRunLeasesMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('runbook_runs').addColumn('lease_owner', 'text').execute()
      await db.schema.alterTable('runbook_runs').addColumn('lease_until', 'bigint').execute()
      // The host and the Keel process driving the step: on that host a dead driver is seen at
      // once, without waiting for its lease to run out.
      await db.schema.alterTable('runbook_runs').addColumn('host', 'text').execute()
      await db.schema.alterTable('runbook_runs').addColumn('driver_pid', 'integer').execute()
      await db.schema.alterTable('runbook_runs').addColumn('driver_started', 'text').execute()
      // The command's process group (its shell leads it) and the shell's start time, which tells
      // a leftover group from an unrelated process that reuses the pid.
      await db.schema.alterTable('runbook_runs').addColumn('command_pid', 'integer').execute()
      await db.schema.alterTable('runbook_runs').addColumn('command_started', 'text').execute()
      // Every node looks for orphans every few seconds: running runs, and runs with a command.
      await db.schema
        .createIndex('runbook_runs_status')
        .on('runbook_runs')
        .columns(['status', 'lease_until'])
        .execute()
      await db.schema
        .createIndex('runbook_runs_command')
        .on('runbook_runs')
        .columns(['command_pid'])
        .execute()
    },
  }
}

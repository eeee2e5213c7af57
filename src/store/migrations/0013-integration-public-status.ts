import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Integrations get `public_status`: whether alerts they deliver may put an incident on the public
 * status page. Off for every existing integration, so ingested labels that name a public monitor
 * or service no longer publish anything until an operator allows it.
 */
export function integrationPublicStatusMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('integrations')
        .addColumn('public_status', 'integer', (column) => column.notNull().defaultTo(0))
        .execute()
    },
  }
}

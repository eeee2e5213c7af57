import { sql, type Kysely, type Migration } from 'kysely'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Login users (profile, OIDC link), team memberships, store-backed browser sessions, login
 * attempts for the rate limit, one-time setup links, a team scope on API tokens, and triggers
 * that make `audit_events` append-only on both dialects.
 */
export function accessMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres'
  return {
    async up(db: Kysely<any>) {
      // SQLite adds one column per ALTER TABLE statement.
      for (const [name, type] of [
        ['name', 'text'],
        ['email', 'text'],
        ['updated_at', 'bigint'],
        ['password_changed_at', 'bigint'],
        ['oidc_issuer', 'text'],
        ['oidc_subject', 'text'],
      ] as const) {
        await db.schema.alterTable('users').addColumn(name, type).execute()
      }
      await db.schema
        .createIndex('users_oidc')
        .on('users')
        .columns(['oidc_issuer', 'oidc_subject'])
        .unique()
        .execute()

      await db.schema.alterTable('api_tokens').addColumn('team', 'text').execute()

      await db.schema
        .createTable('team_members')
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('team', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_members_pk', ['username', 'team'])
        .execute()

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text')
        .addColumn('token_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('sessions_user').on('sessions').columns(['username']).execute()
      await db.schema
        .createIndex('sessions_expiry')
        .on('sessions')
        .columns(['expires_at'])
        .execute()

      await db.schema
        .createTable('login_attempts')
        .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('login_attempts_key_time')
        .on('login_attempts')
        .columns(['key', 'at'])
        .execute()

      await db.schema
        .createTable('setup_links')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute()

      await db.schema
        .createIndex('audit_events_actor')
        .on('audit_events')
        .columns(['actor', 'id'])
        .execute()
      await db.schema
        .createIndex('audit_events_object')
        .on('audit_events')
        .columns(['object_type', 'object_id', 'id'])
        .execute()

      // Append-only: the store offers no update or delete of audit events, and these triggers
      // refuse one issued by hand or by a bug, on either dialect.
      if (pg) {
        await sql`
          create function keel_audit_append_only() returns trigger language plpgsql as $$
          begin
            raise exception 'audit_events is append-only: % refused', tg_op;
          end $$`.execute(db)
        await sql`
          create trigger audit_events_append_only before update or delete on audit_events
          for each row execute function keel_audit_append_only()`.execute(db)
      } else {
        for (const op of ['update', 'delete']) {
          await sql
            .raw(
              `create trigger audit_events_no_${op} before ${op} on audit_events
               begin select raise(abort, 'audit_events is append-only: ${op.toUpperCase()} refused'); end`,
            )
            .execute(db)
        }
      }
    },
  }
}

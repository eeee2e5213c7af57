import { sql, type Selectable } from 'kysely'
import { dialectOf, type Db, type Executor } from './dialect.js'
import type { SessionRow } from './schema-access.js'

/** A stored browser session; the cookie value is known only by its hash. */
export interface StoredSession {
  idHash: string
  /** The user of a password or OIDC login. */
  username?: string
  /** The hash of the API token of a token login. */
  tokenHash?: string
  createdAt: number
  lastSeenAt: number
  expiresAt: number
  ip?: string
  userAgent?: string
  revokedAt?: number
}

function sessionFromRow(row: Selectable<SessionRow>): StoredSession {
  return {
    idHash: row.id_hash,
    ...(row.username !== null ? { username: row.username } : {}),
    ...(row.token_hash !== null ? { tokenHash: row.token_hash } : {}),
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    ...(row.ip !== null ? { ip: row.ip } : {}),
    ...(row.user_agent !== null ? { userAgent: row.user_agent } : {}),
    ...(row.revoked_at !== null ? { revokedAt: Number(row.revoked_at) } : {}),
  }
}

/** Stores a new session. */
export async function insertSession(
  db: Executor,
  session: Omit<StoredSession, 'revokedAt'>,
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id_hash: session.idHash,
      username: session.username ?? null,
      token_hash: session.tokenHash ?? null,
      created_at: session.createdAt,
      last_seen_at: session.lastSeenAt,
      expires_at: session.expiresAt,
      ip: session.ip ?? null,
      user_agent: session.userAgent ?? null,
    })
    .execute()
}

/** The session with this id hash, revoked and expired ones included (the caller decides). */
export async function findSession(
  db: Executor,
  idHash: string,
): Promise<StoredSession | undefined> {
  const row = await db
    .selectFrom('sessions')
    .selectAll()
    .where('id_hash', '=', idHash)
    .executeTakeFirst()
  return row ? sessionFromRow(row) : undefined
}

/** A user's live sessions (not revoked, not expired), newest first. */
export async function listUserSessions(
  db: Executor,
  username: string,
  now: number,
): Promise<StoredSession[]> {
  const rows = await db
    .selectFrom('sessions')
    .selectAll()
    .where('username', '=', username)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute()
  return rows.map(sessionFromRow)
}

/** Records activity on a session. */
export async function touchSession(db: Executor, idHash: string, now: number): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: now })
    .where('id_hash', '=', idHash)
    .execute()
}

/** Revokes one session; false when it was unknown or already revoked. */
export async function revokeSession(db: Executor, idHash: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Revokes every live session of a user; returns how many. */
export async function revokeUserSessions(
  db: Executor,
  username: string,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('username', '=', username)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Deletes sessions that ended before `before` (expired or revoked); returns how many. */
export async function deleteEndedSessions(db: Executor, before: number): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Records one failed login under each key (`user:<name>`, `address:<ip>`). */
export async function recordLoginFailure(
  db: Executor,
  keys: readonly string[],
  now: number,
): Promise<void> {
  await db
    .insertInto('login_attempts')
    .values(keys.map((key) => ({ key, at: now })))
    .execute()
}

/** The failed logins per key since `since`: count and the oldest time, for `Retry-After`. */
export async function countLoginFailures(
  db: Executor,
  keys: readonly string[],
  since: number,
): Promise<Map<string, { count: number; oldest: number }>> {
  const rows = await db
    .selectFrom('login_attempts')
    .select((eb) => ['key', eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('oldest')])
    .where('key', 'in', [...keys])
    .where('at', '>=', since)
    .groupBy('key')
    .execute()
  return new Map(rows.map((r) => [r.key, { count: Number(r.n), oldest: Number(r.oldest) }]))
}

/** One rate-limit key of a login attempt and how many attempts it allows per window. */
export interface LoginLimitKey {
  key: string
  limit: number
}

/** A reserved login attempt (its rows), or the time the earliest full key frees a place. */
export type LoginReservation = { ok: true; ids: number[] } | { ok: false; until: number }

/**
 * Reserves one login attempt under every key before the password is checked: inserts a row per
 * key, then counts the rows in the window, in one transaction; when a key holds more than its
 * limit the rows are taken back and the answer says until when. PostgreSQL serialises the keys
 * with transaction advisory locks (taken in key order, so two attempts cannot deadlock), SQLite
 * with its single writer, so parallel attempts on any number of nodes never run more than the
 * limit of password checks per window. A reserved row counts as a failure until the login
 * succeeds and releases it.
 */
export async function reserveLoginAttempt(
  db: Db,
  keys: readonly LoginLimitKey[],
  now: number,
  windowMs: number,
): Promise<LoginReservation> {
  return db.transaction().execute(async (trx) => {
    if (dialectOf(db) === 'postgres') {
      for (const key of keys.map((k) => k.key).sort()) {
        await sql`select pg_advisory_xact_lock(hashtextextended(${`keel-login:${key}`}, 0))`.execute(
          trx,
        )
      }
    }
    const inserted = await trx
      .insertInto('login_attempts')
      .values(keys.map(({ key }) => ({ key, at: now })))
      .returning('id')
      .execute()
    const ids = inserted.map((row) => Number(row.id))
    // An attempt counts for exactly the window: at `oldest + window` it no longer does.
    const counts = await countLoginFailures(
      trx,
      keys.map((k) => k.key),
      now - windowMs + 1,
    )
    const full = keys
      .map(({ key, limit }) => {
        const held = counts.get(key)
        return held && held.count > limit ? held.oldest + windowMs : undefined
      })
      .filter((until): until is number => until !== undefined)
    if (full.length === 0) return { ok: true, ids }
    await trx.deleteFrom('login_attempts').where('id', 'in', ids).execute()
    return { ok: false, until: Math.max(...full) }
  })
}

/** Takes back reserved login attempts (the address rows of a login that succeeded). */
export async function releaseLoginAttempts(db: Executor, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return
  await db
    .deleteFrom('login_attempts')
    .where('id', 'in', [...ids])
    .execute()
}

/** Forgets the failures under these keys (after a successful login) and all before `before`. */
export async function clearLoginFailures(
  db: Executor,
  keys: readonly string[],
  before: number,
): Promise<void> {
  await db
    .deleteFrom('login_attempts')
    .where((eb) => eb.or([eb('key', 'in', [...keys]), eb('at', '<', before)]))
    .execute()
}

/**
 * Ends every unused setup link of a user but `keep` (a link just made or just used), so only the
 * newest link can set the password, or every one when `keep` is undefined (a password set
 * without a link); returns how many ended. An ended link is marked used.
 */
export async function endOtherSetupLinks(
  db: Executor,
  username: string,
  keep: string | undefined,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('setup_links')
    .set({ used_at: now })
    .where('username', '=', username)
    .$if(keep !== undefined, (qb) => qb.where('id_hash', '!=', keep as string))
    .where('used_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Stores a one-time setup link by its hash; the user's older unused links end with it. */
export async function insertSetupLink(
  db: Executor,
  link: { idHash: string; username: string; createdAt: number; expiresAt: number },
): Promise<void> {
  await endOtherSetupLinks(db, link.username, link.idHash, link.createdAt)
  await db
    .insertInto('setup_links')
    .values({
      id_hash: link.idHash,
      username: link.username,
      created_at: link.createdAt,
      expires_at: link.expiresAt,
    })
    .execute()
}

/**
 * Marks a setup link used and returns its user, or undefined when it is unknown, expired or
 * already used. One UPDATE decides, so two nodes racing on the same link cannot both win. The
 * caller ends the user's other links in the same transaction (`endOtherSetupLinks`).
 */
export async function consumeSetupLink(
  db: Executor,
  idHash: string,
  now: number,
): Promise<string | undefined> {
  const row = await db
    .updateTable('setup_links')
    .set({ used_at: now })
    .where('id_hash', '=', idHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('username')
    .executeTakeFirst()
  return row?.username
}

/** The user of a live setup link without using it up, for the setup page to greet them. */
export async function peekSetupLink(
  db: Executor,
  idHash: string,
  now: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('setup_links')
    .select('username')
    .where('id_hash', '=', idHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst()
  return row?.username
}

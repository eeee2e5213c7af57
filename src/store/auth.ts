import type { Selectable } from 'kysely'
import type { Executor } from './dialect.js'
import type { ApiTokenRow, UserRow } from './schema.js'

/** The roles Keel knows, weakest first. */
export type Role = 'viewer' | 'responder' | 'operator' | 'admin'

/** A login user; `username` is the id (a slug), shared with the on-call user of the same id. */
export interface User {
  id: number
  username: string
  name?: string
  email?: string
  passwordHash?: string
  role: Role
  createdAt: number
  updatedAt?: number
  passwordChangedAt?: number
  oidcIssuer?: string
  oidcSubject?: string
  disabled: boolean
}

/** A user's role on the objects of one team. */
export interface TeamMembership {
  username: string
  team: string
  role: Role
}

/** An API token; only its hash is stored. */
export interface ApiToken {
  id: string
  name: string
  tokenHash: string
  role: Role
  /** The one team whose objects the token may edit; absent for no team scope. */
  team?: string
  /**
   * The person the token acts for: `user:<id>` (refused while that user is disabled),
   * `cli:<os user>` or `system`; absent for tokens made before owners were recorded.
   */
  owner?: string
  createdAt: number
  expiresAt?: number
  lastUsedAt?: number
  revokedAt?: number
}

function userFromRow(row: Selectable<UserRow>): User {
  return {
    id: row.id,
    username: row.username,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.email !== null ? { email: row.email } : {}),
    ...(row.password_hash !== null ? { passwordHash: row.password_hash } : {}),
    role: row.role as Role,
    createdAt: Number(row.created_at),
    ...(row.updated_at !== null ? { updatedAt: Number(row.updated_at) } : {}),
    ...(row.password_changed_at !== null
      ? { passwordChangedAt: Number(row.password_changed_at) }
      : {}),
    ...(row.oidc_issuer !== null ? { oidcIssuer: row.oidc_issuer } : {}),
    ...(row.oidc_subject !== null ? { oidcSubject: row.oidc_subject } : {}),
    disabled: row.disabled === 1,
  }
}

/** Creates a user. */
export async function insertUser(
  db: Executor,
  user: {
    username: string
    passwordHash?: string
    role: Role
    name?: string
    email?: string
    oidcIssuer?: string
    oidcSubject?: string
  },
  now: number,
): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({
      username: user.username,
      password_hash: user.passwordHash ?? null,
      role: user.role,
      created_at: now,
      updated_at: now,
      disabled: 0,
      name: user.name ?? null,
      email: user.email ?? null,
      password_changed_at: user.passwordHash !== undefined ? now : null,
      oidc_issuer: user.oidcIssuer ?? null,
      oidc_subject: user.oidcSubject ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return userFromRow(row)
}

/** One user by name (the id slug). */
export async function getUser(db: Executor, username: string): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('username', '=', username)
    .executeTakeFirst()
  return row ? userFromRow(row) : undefined
}

/** The user linked to this OpenID Connect issuer and subject. */
export async function getUserByOidc(
  db: Executor,
  issuer: string,
  subject: string,
): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('oidc_issuer', '=', issuer)
    .where('oidc_subject', '=', subject)
    .executeTakeFirst()
  return row ? userFromRow(row) : undefined
}

/** Every user, by name. */
export async function listUsers(db: Executor): Promise<User[]> {
  const rows = await db.selectFrom('users').selectAll().orderBy('username').execute()
  return rows.map(userFromRow)
}

/** How many users exist: zero means no one can log in with a password yet. */
export async function countUsers(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** Changes a user's profile, role, flag, password hash or OIDC link; returns the new row. */
export async function updateUser(
  db: Executor,
  username: string,
  change: {
    name?: string | null
    email?: string | null
    role?: Role
    disabled?: boolean
    passwordHash?: string
    /** `null` removes the OIDC link. */
    oidcIssuer?: string | null
    oidcSubject?: string | null
  },
  now: number,
): Promise<User | undefined> {
  const row = await db
    .updateTable('users')
    .set({
      updated_at: now,
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.email !== undefined ? { email: change.email } : {}),
      ...(change.role !== undefined ? { role: change.role } : {}),
      ...(change.disabled !== undefined ? { disabled: change.disabled ? 1 : 0 } : {}),
      ...(change.passwordHash !== undefined
        ? { password_hash: change.passwordHash, password_changed_at: now }
        : {}),
      ...(change.oidcIssuer !== undefined ? { oidc_issuer: change.oidcIssuer } : {}),
      ...(change.oidcSubject !== undefined ? { oidc_subject: change.oidcSubject } : {}),
    })
    .where('username', '=', username)
    .returningAll()
    .executeTakeFirst()
  return row ? userFromRow(row) : undefined
}

/** A user's team memberships, by team. */
export async function listMemberships(db: Executor, username: string): Promise<TeamMembership[]> {
  const rows = await db
    .selectFrom('team_members')
    .selectAll()
    .where('username', '=', username)
    .orderBy('team')
    .execute()
  return rows.map((r) => ({ username: r.username, team: r.team, role: r.role as Role }))
}

/** Replaces a user's team memberships with these. */
export async function setMemberships(
  db: Executor,
  username: string,
  memberships: readonly { team: string; role: Role }[],
  now: number,
): Promise<void> {
  await db.deleteFrom('team_members').where('username', '=', username).execute()
  if (memberships.length === 0) return
  await db
    .insertInto('team_members')
    .values(memberships.map((m) => ({ username, team: m.team, role: m.role, created_at: now })))
    .execute()
}

function tokenFromRow(row: Selectable<ApiTokenRow>): ApiToken {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    role: row.role as Role,
    ...(row.team !== null ? { team: row.team } : {}),
    ...(row.owner !== null ? { owner: row.owner } : {}),
    createdAt: Number(row.created_at),
    ...(row.expires_at !== null ? { expiresAt: Number(row.expires_at) } : {}),
    ...(row.last_used_at !== null ? { lastUsedAt: Number(row.last_used_at) } : {}),
    ...(row.revoked_at !== null ? { revokedAt: Number(row.revoked_at) } : {}),
  }
}

/** Stores a token's hash. */
export async function insertApiToken(
  db: Executor,
  token: Omit<ApiToken, 'lastUsedAt' | 'revokedAt'>,
): Promise<void> {
  await db
    .insertInto('api_tokens')
    .values({
      id: token.id,
      name: token.name,
      token_hash: token.tokenHash,
      role: token.role,
      team: token.team ?? null,
      owner: token.owner ?? null,
      created_at: token.createdAt,
      expires_at: token.expiresAt ?? null,
    })
    .execute()
}

/** The token with this hash, if any (revoked and expired ones included; the caller decides). */
export async function findApiTokenByHash(
  db: Executor,
  tokenHash: string,
): Promise<ApiToken | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
  return row ? tokenFromRow(row) : undefined
}

/** Every token (hashes included), newest first. */
export async function listApiTokens(db: Executor): Promise<ApiToken[]> {
  const rows = await db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').execute()
  return rows.map(tokenFromRow)
}

/**
 * Records that a token was used, unless it already was within `minGapMs`; true when this call
 * wrote, which is when the caller audits the use (so a busy token leaves one event a minute).
 */
export async function touchApiToken(
  db: Executor,
  id: string,
  now: number,
  minGapMs = 0,
): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - minGapMs)]),
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Revokes a token by id. */
export async function revokeApiToken(db: Executor, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** How many tokens exist (revoked ones included): zero means a fresh install. */
export async function countApiTokens(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

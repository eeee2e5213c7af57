import type { Executor } from './dialect.js'

/** The roles Keel knows, weakest first. */
export type Role = 'viewer' | 'responder' | 'operator' | 'admin'

/** A user account. */
export interface User {
  id: number
  username: string
  passwordHash?: string
  role: Role
  createdAt: number
  disabled: boolean
}

/** An API token; only its hash is stored. */
export interface ApiToken {
  id: string
  name: string
  tokenHash: string
  role: Role
  createdAt: number
  expiresAt?: number
  lastUsedAt?: number
  revokedAt?: number
}

/** Creates a user. */
export async function insertUser(
  db: Executor,
  user: { username: string; passwordHash?: string; role: Role },
  now: number,
): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({
      username: user.username,
      password_hash: user.passwordHash ?? null,
      role: user.role,
      created_at: now,
      disabled: 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return {
    id: row.id,
    username: row.username,
    ...(row.password_hash !== null ? { passwordHash: row.password_hash } : {}),
    role: row.role as Role,
    createdAt: row.created_at,
    disabled: row.disabled === 1,
  }
}

/** One user by name. */
export async function getUser(db: Executor, username: string): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('username', '=', username)
    .executeTakeFirst()
  if (!row) return undefined
  return {
    id: row.id,
    username: row.username,
    ...(row.password_hash !== null ? { passwordHash: row.password_hash } : {}),
    role: row.role as Role,
    createdAt: row.created_at,
    disabled: row.disabled === 1,
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
  if (!row) return undefined
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    role: row.role as Role,
    createdAt: row.created_at,
    ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}),
    ...(row.last_used_at !== null ? { lastUsedAt: row.last_used_at } : {}),
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
  }
}

/** Records that a token was used. */
export async function touchApiToken(db: Executor, id: string, now: number): Promise<void> {
  await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute()
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

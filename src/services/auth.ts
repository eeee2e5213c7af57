import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { AuthenticationError, InputError, NotAllowedError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { appendAudit } from '../store/audit.js'
import type { Db } from '../store/dialect.js'
import {
  countApiTokens,
  findApiTokenByHash,
  insertApiToken,
  touchApiToken,
  type Role,
} from '../store/auth.js'
import type { Actor } from './context.js'

/** Roles from weakest to strongest; a role may do everything the ones before it may. */
export const roles: readonly Role[] = ['viewer', 'responder', 'operator', 'admin']

/** True when `role` is at least `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed)
}

/** Throws NotAllowedError unless the actor's role is at least `needed`. */
export function requireRole(actor: Actor, needed: Role): void {
  if (!roleAllows(actor.role, needed)) {
    throw new NotAllowedError(
      `${actor.name} has role ${actor.role}; this needs ${needed} or higher`,
    )
  }
}

const prefix = 'keel_'

/** Tokens carry 256 random bits, so a fast hash is safe; passwords would need scrypt. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** A token as created: the secret is shown once and never stored. */
export interface CreatedToken {
  id: string
  name: string
  role: Role
  token: string
  expiresAt?: number
}

/** Creates an API token with a role and optional expiry. */
export async function createApiToken(
  deps: { db: Db; clock: Clock },
  input: { name: string; role: Role; expiresAt?: number; actor?: string },
): Promise<CreatedToken> {
  if (!roles.includes(input.role)) {
    throw new InputError(
      `role must be one of ${roles.join(', ')}, got ${JSON.stringify(input.role)}`,
    )
  }
  if (input.name.trim() === '') throw new InputError('token name must not be empty')
  const now = deps.clock.now()
  if (input.expiresAt !== undefined && input.expiresAt <= now) {
    throw new InputError('token expiry must be in the future')
  }
  const id = randomUUID()
  const token = `${prefix}${randomBytes(32).toString('base64url')}`
  await insertApiToken(deps.db, {
    id,
    name: input.name,
    tokenHash: hashToken(token),
    role: input.role,
    createdAt: now,
    ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
  })
  await appendAudit(deps.db, {
    at: now,
    actor: input.actor ?? 'system',
    action: 'token.create',
    objectType: 'token',
    objectId: id,
    details: { name: input.name, role: input.role },
  })
  return {
    id,
    name: input.name,
    role: input.role,
    token,
    ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
  }
}

/** Resolves a bearer token to an actor, or throws AuthenticationError saying what is wrong. */
export async function authenticateToken(
  deps: { db: Db; clock: Clock },
  token: string | undefined,
  source?: string,
): Promise<Actor> {
  if (!token) {
    throw new AuthenticationError('authentication required: send "Authorization: Bearer <token>"')
  }
  return authenticateTokenHash(deps, hashToken(token), source)
}

/**
 * Resolves the hash of a token to an actor, re-checking revocation and expiry; a browser session
 * keeps only the hash of the token it was opened with, never the token.
 */
export async function authenticateTokenHash(
  deps: { db: Db; clock: Clock },
  tokenHash: string,
  source?: string,
): Promise<Actor> {
  const row = await findApiTokenByHash(deps.db, tokenHash)
  const now = deps.clock.now()
  if (!row) throw new AuthenticationError('unknown API token')
  if (row.revokedAt !== undefined)
    throw new AuthenticationError(`API token ${row.name} was revoked`)
  if (row.expiresAt !== undefined && row.expiresAt <= now) {
    throw new AuthenticationError(`API token ${row.name} expired`)
  }
  // Record use at most once a minute per token to keep reads from becoming writes.
  if (row.lastUsedAt === undefined || now - row.lastUsedAt > 60_000)
    await touchApiToken(deps.db, row.id, now)
  return { name: `token:${row.name}`, role: row.role, ...(source ? { source } : {}) }
}

/**
 * On a store with no token at all, creates the first admin token and returns it so the server can
 * print it once; later starts return undefined. There is never a default password.
 */
export async function bootstrapAdminToken(deps: {
  db: Db
  clock: Clock
}): Promise<CreatedToken | undefined> {
  if ((await countApiTokens(deps.db)) > 0) return undefined
  return createApiToken(deps, { name: 'bootstrap-admin', role: 'admin', actor: 'system' })
}

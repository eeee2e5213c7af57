import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { AuthenticationError, InputError, NotAllowedError, NotFoundError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { appendAudit } from '../store/audit.js'
import type { Db } from '../store/dialect.js'
import {
  countApiTokens,
  findApiTokenByHash,
  getUser,
  insertApiToken,
  listApiTokens,
  listMemberships,
  revokeApiToken,
  touchApiToken,
  type ApiToken,
  type Role,
} from '../store/auth.js'
import type { Actor } from './context.js'

/** Roles from weakest to strongest; a role may do everything the ones before it may. */
export const roles: readonly Role[] = ['viewer', 'responder', 'operator', 'admin']

/** True when `role` is at least `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed)
}

/** The weaker of two roles. */
export function weakerRole(a: Role, b: Role): Role {
  return roles.indexOf(a) <= roles.indexOf(b) ? a : b
}

/** A token owner's current access: their role, and their team scope (absent when unscoped). */
export interface OwnerAccess {
  role: Role
  teams?: Readonly<Record<string, Role>>
}

/**
 * What a token owned by a user may do now: never more than the token or its owner may. The role
 * is the weaker of the two. The team scope is the narrower: an unscoped owner leaves the token's
 * own scope; a scoped owner limits an unscoped token to the owner's teams, and a token scoped to
 * one team keeps that team only while the owner is a member of it (else it is scoped to no team
 * and may change no team's objects). Each team role is the weakest of the token's role, the
 * owner's role and the owner's role in that team.
 */
export function ownedTokenAccess(
  token: { role: Role; team?: string | undefined },
  owner: OwnerAccess,
): { role: Role; teams?: Record<string, Role> } {
  const role = weakerRole(token.role, owner.role)
  if (owner.teams === undefined) {
    return token.team === undefined ? { role } : { role, teams: { [token.team]: role } }
  }
  const kept = Object.entries(owner.teams).filter(
    ([team]) => token.team === undefined || team === token.team,
  )
  return {
    role,
    teams: Object.fromEntries(kept.map(([team, teamRole]) => [team, weakerRole(teamRole, role)])),
  }
}

/** Throws NotAllowedError unless the actor's role is at least `needed`. */
export function requireRole(actor: Actor, needed: Role): void {
  if (!roleAllows(actor.role, needed)) {
    throw new NotAllowedError(
      `${actor.name} has role ${actor.role}; this needs ${needed} or higher`,
    )
  }
}

/** An object that may belong to a team, named for error messages. */
export interface TeamObject {
  type: string
  id: string
  /** The owning team (a monitor's `team` label); absent when no team owns it. */
  team?: string | undefined
}

/**
 * Throws NotAllowedError unless a team-scoped actor may change this object with role `needed`:
 * the object must belong to one of the actor's teams and the actor's role there must be at least
 * `needed`. Actors without a team scope pass (the route guard has checked their role).
 */
export function requireTeamAccess(actor: Actor, needed: Role, object: TeamObject): void {
  if (actor.teams === undefined) return
  const scope = Object.keys(actor.teams)
  const teamList = scope.join(', ')
  if (scope.length === 0) {
    throw new NotAllowedError(
      `${actor.name} is scoped to no team (a user's token whose team the user is no longer a member of) and may change no ${object.type}; ${object.type} ${object.id} needs a caller with ${needed} in ${object.team !== undefined ? `team ${object.team}` : 'its team'}`,
    )
  }
  if (object.team === undefined) {
    throw new NotAllowedError(
      `${actor.name} is scoped to team ${teamList} and may only change objects of that team; ${object.type} ${object.id} has no team (set its label team=${scope[0] ?? '<team>'})`,
    )
  }
  const role = actor.teams[object.team]
  if (role === undefined) {
    throw new NotAllowedError(
      `${actor.name} is scoped to team ${teamList}; ${object.type} ${object.id} belongs to team ${object.team}`,
    )
  }
  if (!roleAllows(role, needed)) {
    throw new NotAllowedError(
      `${actor.name} has role ${role} in team ${object.team}; changing ${object.type} ${object.id} needs ${needed} or higher`,
    )
  }
}

const prefix = 'keel_'
const slug = /^[a-z0-9][a-z0-9_.-]{0,62}$/

/** Tokens carry 256 random bits, so a fast hash is safe; passwords use scrypt (passwords.ts). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** A token as created: the secret is shown once and never stored. */
export interface CreatedToken {
  id: string
  name: string
  role: Role
  team?: string
  /** The person the token acts for (see `ApiToken.owner`). */
  owner?: string
  token: string
  expiresAt?: number
}

// `token:<name>`: a token made with a token that has no owner belongs to the same person.
const ownerPattern = /^(user:[a-z0-9][a-z0-9_.-]{0,62}|(cli|token):\S{1,200}|system)$/

/** Creates an API token with a role, an optional team scope and an optional expiry. */
export async function createApiToken(
  deps: { db: Db; clock: Clock },
  input: {
    name: string
    role: Role
    team?: string
    expiresAt?: number
    /** Who the token acts for: the creating person (`user:<id>`), `cli:<os user>` or `system`. */
    owner?: string
    actor?: string
    source?: string
  },
): Promise<CreatedToken> {
  if (!roles.includes(input.role)) {
    throw new InputError(
      `token role must be one of ${roles.join(', ')}, got ${JSON.stringify(input.role)}`,
    )
  }
  if (input.name.trim() === '') throw new InputError('token name must not be empty')
  if (input.team !== undefined && !slug.test(input.team)) {
    throw new InputError(
      `token team must be a team id (lowercase letters, digits, - _ .), got ${JSON.stringify(input.team)}`,
    )
  }
  if (input.owner !== undefined) {
    if (!ownerPattern.test(input.owner)) {
      throw new InputError(
        `token owner must be user:<id>, cli:<os user>, token:<name> or system, got ${JSON.stringify(input.owner)}`,
      )
    }
    if (input.owner.startsWith('user:')) {
      const id = input.owner.slice('user:'.length)
      const user = await getUser(deps.db, id)
      if (!user || user.disabled) {
        throw new InputError(
          `token owner ${input.owner}: user ${id} ${user ? 'is disabled' : 'does not exist'}; name an enabled user (keel user list)`,
        )
      }
    }
  }
  const now = deps.clock.now()
  if (input.expiresAt !== undefined && input.expiresAt <= now) {
    throw new InputError(
      'token expiry (expiresAt) must be in the future; omit it for a token that does not expire',
    )
  }
  const id = randomUUID()
  const token = `${prefix}${randomBytes(32).toString('base64url')}`
  await insertApiToken(deps.db, {
    id,
    name: input.name,
    tokenHash: hashToken(token),
    role: input.role,
    createdAt: now,
    ...(input.team !== undefined ? { team: input.team } : {}),
    ...(input.owner !== undefined ? { owner: input.owner } : {}),
    ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
  })
  await appendAudit(deps.db, {
    at: now,
    actor: input.actor ?? 'system',
    action: 'token.create',
    objectType: 'token',
    objectId: id,
    ...(input.source ? { source: input.source } : {}),
    details: {
      after: {
        name: input.name,
        role: input.role,
        ...(input.team !== undefined ? { team: input.team } : {}),
        ...(input.owner !== undefined ? { owner: input.owner } : {}),
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      },
    },
  })
  return {
    id,
    name: input.name,
    role: input.role,
    ...(input.team !== undefined ? { team: input.team } : {}),
    ...(input.owner !== undefined ? { owner: input.owner } : {}),
    token,
    ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
  }
}

/** A token as listed: everything but its hash. */
export type TokenView = Omit<ApiToken, 'tokenHash'>

/** Every API token without its hash, newest first. */
export async function listTokens(deps: { db: Db }): Promise<TokenView[]> {
  return (await listApiTokens(deps.db)).map(({ tokenHash: _hash, ...rest }) => rest)
}

/** Revokes an API token; its sessions end with it, since each request re-checks the token. */
export async function revokeToken(
  deps: { db: Db; clock: Clock },
  id: string,
  actor: Actor,
): Promise<void> {
  const now = deps.clock.now()
  if (!(await revokeApiToken(deps.db, id, now))) {
    throw new NotFoundError(`API token ${id} does not exist or is already revoked`)
  }
  await appendAudit(deps.db, {
    at: now,
    actor: actor.name,
    action: 'token.revoke',
    objectType: 'token',
    objectId: id,
    ...(actor.source ? { source: actor.source } : {}),
    details: { after: { revokedAt: now } },
  })
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

/** How often a token's use is recorded (last-used time and one `token.use` audit event). */
export const tokenUseRecordMs = 60_000

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
  // A person's tokens work only while the person may: disabling the user disables them, and
  // demoting the user or narrowing their teams narrows them, on every request.
  let access: { role: Role; teams?: Record<string, Role> } = {
    role: row.role,
    ...(row.team !== undefined ? { teams: { [row.team]: row.role } } : {}),
  }
  if (row.owner?.startsWith('user:') === true) {
    const id = row.owner.slice('user:'.length)
    const owner = await getUser(deps.db, id)
    if (!owner || owner.disabled) {
      throw new AuthenticationError(
        `API token ${row.name} belongs to user ${id}, who is ${owner ? 'disabled' : 'gone'}; an admin can enable the user (keel user enable ${id}) or give you another token`,
      )
    }
    // As for the user's own sessions (userActor): admins are never scoped, and a user without
    // memberships has no scope.
    const memberships = owner.role === 'admin' ? [] : await listMemberships(deps.db, id)
    access = ownedTokenAccess(row, {
      role: owner.role,
      ...(memberships.length > 0
        ? { teams: Object.fromEntries(memberships.map((m) => [m.team, m.role])) }
        : {}),
    })
  }
  const name = `token:${row.name}`
  // Record use at most once a minute per token, so reads do not become a write and an audit
  // event each; the conditional UPDATE lets one node win when several see the same token.
  if (
    (row.lastUsedAt === undefined || now - row.lastUsedAt >= tokenUseRecordMs) &&
    (await touchApiToken(deps.db, row.id, now, tokenUseRecordMs))
  ) {
    await appendAudit(deps.db, {
      at: now,
      actor: name,
      action: 'token.use',
      objectType: 'token',
      objectId: row.id,
      ...(source ? { source } : {}),
    })
  }
  return {
    name,
    role: access.role,
    tokenId: row.id,
    ...(row.owner !== undefined ? { person: row.owner } : {}),
    ...(access.teams !== undefined ? { teams: access.teams } : {}),
    ...(source ? { source } : {}),
  }
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
  return createApiToken(deps, {
    name: 'bootstrap-admin',
    role: 'admin',
    owner: 'system',
    actor: 'system',
  })
}

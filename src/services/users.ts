import { createHash, randomBytes } from 'node:crypto'
import { ConflictError, InputError, NotFoundError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { appendAudit } from '../store/audit.js'
import {
  countUsers,
  getUser,
  insertUser,
  listMemberships,
  listUsers,
  setMemberships,
  updateUser,
  type Role,
  type TeamMembership,
  type User,
} from '../store/auth.js'
import type { Db, Executor } from '../store/dialect.js'
import {
  clearLoginFailures,
  consumeSetupLink,
  endOtherSetupLinks,
  insertSetupLink,
  peekSetupLink,
  releaseLoginAttempts,
  reserveLoginAttempt,
  revokeUserSessions,
} from '../store/sessions.js'
import { roles } from './auth.js'
import type { Actor } from './context.js'
import {
  checkNewPassword,
  hashPassword,
  needsRehash,
  verifyDummyPassword,
  verifyPassword,
} from './passwords.js'

/** What user functions need: the store and the clock. */
export interface UserDeps {
  db: Db
  clock: Clock
}

/** A user as the API shows it: never the password hash. */
export interface UserView {
  id: string
  name?: string
  email?: string
  role: Role
  disabled: boolean
  hasPassword: boolean
  oidc?: { issuer: string; subject: string }
  teams: { team: string; role: Role }[]
  createdAt: number
  updatedAt?: number
}

const userIdPattern = /^[a-z0-9][a-z0-9_.-]{0,62}$/

function view(user: User, teams: TeamMembership[]): UserView {
  return {
    id: user.username,
    ...(user.name !== undefined ? { name: user.name } : {}),
    ...(user.email !== undefined ? { email: user.email } : {}),
    role: user.role,
    disabled: user.disabled,
    hasPassword: user.passwordHash !== undefined,
    ...(user.oidcIssuer !== undefined && user.oidcSubject !== undefined
      ? { oidc: { issuer: user.oidcIssuer, subject: user.oidcSubject } }
      : {}),
    teams: teams.map((t) => ({ team: t.team, role: t.role })),
    createdAt: user.createdAt,
    ...(user.updatedAt !== undefined ? { updatedAt: user.updatedAt } : {}),
  }
}

function checkRole(role: unknown, field = 'role'): Role {
  if (!roles.includes(role as Role)) {
    throw new InputError(`${field} must be one of ${roles.join(', ')}, got ${JSON.stringify(role)}`)
  }
  return role as Role
}

function checkTeams(teams: unknown): { team: string; role: Role }[] {
  if (!Array.isArray(teams)) throw new InputError('teams must be a list of { team, role }')
  const seen = new Set<string>()
  return teams.map((entry: unknown, index) => {
    const { team, role } = (entry ?? {}) as { team?: unknown; role?: unknown }
    if (typeof team !== 'string' || !userIdPattern.test(team)) {
      throw new InputError(
        `teams[${index}].team must be a team id (lowercase letters, digits, - _ .), got ${JSON.stringify(team)}`,
      )
    }
    if (seen.has(team)) throw new InputError(`teams[${index}].team ${team} is listed twice`)
    seen.add(team)
    return { team, role: checkRole(role, `teams[${index}].role`) }
  })
}

async function audit(
  db: Executor,
  actor: Actor,
  now: number,
  action: string,
  objectId: string,
  details?: unknown,
): Promise<void> {
  await appendAudit(db, {
    at: now,
    actor: actor.name,
    action,
    objectType: 'user',
    objectId,
    ...(actor.source ? { source: actor.source } : {}),
    ...(details !== undefined ? { details } : {}),
  })
}

async function userOrThrow(db: Executor, id: string): Promise<User> {
  const user = await getUser(db, id)
  if (!user)
    throw new NotFoundError(`user ${id} does not exist; create it with keel user add ${id}`)
  return user
}

/** One user with their teams, or NotFoundError. */
export async function getUserView(deps: UserDeps, id: string): Promise<UserView> {
  const user = await userOrThrow(deps.db, id)
  return view(user, await listMemberships(deps.db, id))
}

/** Every user with their teams. */
export async function listUserViews(deps: UserDeps): Promise<UserView[]> {
  const users = await listUsers(deps.db)
  return Promise.all(users.map(async (u) => view(u, await listMemberships(deps.db, u.username))))
}

/** What a new user needs; the password is set later through a one-time setup link. */
export interface NewUser {
  id: string
  role: Role
  name?: string
  email?: string
  teams?: { team: string; role: Role }[]
}

/** Creates a login user (no password yet); the id is also their on-call user id. */
export async function createUser(deps: UserDeps, actor: Actor, input: NewUser): Promise<UserView> {
  if (typeof input.id !== 'string' || !userIdPattern.test(input.id)) {
    throw new InputError(
      `user id must be a slug of lowercase letters, digits, - _ . (as in keel.yaml users), got ${JSON.stringify(input.id)}`,
    )
  }
  const role = checkRole(input.role)
  const teams = input.teams !== undefined ? checkTeams(input.teams) : []
  const now = deps.clock.now()
  return deps.db.transaction().execute(async (trx) => {
    if (await getUser(trx, input.id)) throw new ConflictError(`user ${input.id} already exists`)
    const user = await insertUser(
      trx,
      {
        username: input.id,
        role,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.email !== undefined ? { email: input.email } : {}),
      },
      now,
    )
    await setMemberships(trx, input.id, teams, now)
    const created = view(user, await listMemberships(trx, input.id))
    await audit(trx, actor, now, 'user.create', input.id, { after: created })
    return created
  })
}

/** What an admin may change on a user. */
export interface UserChange {
  name?: string | null
  email?: string | null
  role?: Role
  disabled?: boolean
  teams?: { team: string; role: Role }[]
}

/** Changes a user; disabling one, or changing their role or teams, ends their sessions. */
export async function changeUser(
  deps: UserDeps,
  actor: Actor,
  id: string,
  change: UserChange,
): Promise<UserView> {
  const role = change.role !== undefined ? checkRole(change.role) : undefined
  const teams = change.teams !== undefined ? checkTeams(change.teams) : undefined
  const now = deps.clock.now()
  return deps.db.transaction().execute(async (trx) => {
    const before = view(await userOrThrow(trx, id), await listMemberships(trx, id))
    const updated = await updateUser(
      trx,
      id,
      {
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.email !== undefined ? { email: change.email } : {}),
        ...(role !== undefined ? { role } : {}),
        ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
      },
      now,
    )
    if (teams !== undefined) await setMemberships(trx, id, teams, now)
    const after = view(updated as User, await listMemberships(trx, id))
    const lostAccess =
      (after.disabled && !before.disabled) ||
      after.role !== before.role ||
      JSON.stringify(after.teams) !== JSON.stringify(before.teams)
    const revoked = lostAccess ? await revokeUserSessions(trx, id, now) : 0
    await audit(trx, actor, now, change.disabled === true ? 'user.disable' : 'user.update', id, {
      before,
      after,
      ...(revoked > 0 ? { sessionsRevoked: revoked } : {}),
    })
    return after
  })
}

/**
 * Sets a user's password without a setup link (an admin, or the user) and ends all their
 * sessions and every setup link still unused, so a link handed out earlier cannot reset the
 * password just set.
 */
export async function setPassword(
  deps: UserDeps,
  actor: Actor,
  id: string,
  password: string,
): Promise<void> {
  checkNewPassword(password, id)
  const hash = await hashPassword(password)
  const now = deps.clock.now()
  await deps.db.transaction().execute(async (trx) => {
    await userOrThrow(trx, id)
    await updateUser(trx, id, { passwordHash: hash }, now)
    const revoked = await revokeUserSessions(trx, id, now)
    const linksEnded = await endOtherSetupLinks(trx, id, undefined, now)
    await audit(trx, actor, now, 'user.password', id, {
      sessionsRevoked: revoked,
      ...(linksEnded > 0 ? { setupLinksEnded: linksEnded } : {}),
    })
  })
}

/** How long a setup link works: 24 hours. */
export const setupLinkLifetimeMs = 24 * 3_600_000

/** A one-time setup link just made: the token goes in the URL and is stored only as a hash. */
export interface SetupLink {
  user: string
  token: string
  /** The path to open in the browser, relative to Keel's URL (the token is in the fragment). */
  path: string
  expiresAt: number
}

function linkHash(token: string): string {
  return createHash('sha256').update(`setup:${token}`).digest('hex')
}

/**
 * Makes a one-time link that lets a user set their password: 256 random bits, stored hashed,
 * usable once, for 24 hours. The token sits in the URL fragment, which browsers do not send to
 * servers or in Referer headers.
 */
export async function createSetupLink(
  deps: UserDeps,
  actor: Actor,
  id: string,
): Promise<SetupLink> {
  await userOrThrow(deps.db, id)
  const now = deps.clock.now()
  const token = randomBytes(32).toString('base64url')
  const expiresAt = now + setupLinkLifetimeMs
  // The new link ends the user's older ones, so a link handed out earlier cannot reset later.
  await deps.db.transaction().execute(async (trx) => {
    await insertSetupLink(trx, { idHash: linkHash(token), username: id, createdAt: now, expiresAt })
    await audit(trx, actor, now, 'user.setup-link', id, { after: { expiresAt } })
  })
  return { user: id, token, path: `/setup#${token}`, expiresAt }
}

/** The user a live setup link is for, or NotFoundError when it is unknown, used or expired. */
export async function setupLinkUser(deps: UserDeps, token: string): Promise<string> {
  const user = await peekSetupLink(deps.db, linkHash(token), deps.clock.now())
  if (!user) throw new NotFoundError(setupLinkGone)
  return user
}

const setupLinkGone =
  'setup link is unknown, expired or already used; ask an admin for a new one (keel user setup-link <id>)'

/** Sets the password through a setup link, using it up; returns the user id. */
export async function completeSetup(
  deps: UserDeps,
  input: { token: string; password: string; source?: string },
): Promise<string> {
  const pending = await peekSetupLink(deps.db, linkHash(input.token), deps.clock.now())
  if (!pending) throw new NotFoundError(setupLinkGone)
  checkNewPassword(input.password, pending)
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  return deps.db.transaction().execute(async (trx) => {
    const id = await consumeSetupLink(trx, linkHash(input.token), now)
    if (!id) throw new NotFoundError(setupLinkGone)
    const linksEnded = await endOtherSetupLinks(trx, id, linkHash(input.token), now)
    await updateUser(trx, id, { passwordHash: hash }, now)
    const revoked = await revokeUserSessions(trx, id, now)
    const actor: Actor = {
      name: `user:${id}`,
      role: 'viewer',
      ...(input.source ? { source: input.source } : {}),
    }
    await audit(trx, actor, now, 'user.password', id, {
      via: 'setup-link',
      sessionsRevoked: revoked,
      ...(linksEnded > 0 ? { setupLinksEnded: linksEnded } : {}),
    })
    return id
  })
}

/**
 * On a store with no user at all, creates the `admin` user (role admin, no password) and returns
 * a setup link for it, so the first start can print it; later starts return undefined.
 */
export async function bootstrapAdminUser(deps: UserDeps): Promise<SetupLink | undefined> {
  if ((await countUsers(deps.db)) > 0) return undefined
  const system: Actor = { name: 'system', role: 'admin' }
  await createUser(deps, system, { id: 'admin', role: 'admin', name: 'Administrator' })
  return createSetupLink(deps, system, 'admin')
}

/** Failed logins allowed per user name, and per source address, within `loginWindowMs`. */
export const loginLimits = { perUser: 5, perAddress: 20 }

/** The rate-limit window for failed logins: 15 minutes. */
export const loginWindowMs = 15 * 60_000

/** The outcome of a password login: a user, or why not (one message whatever was wrong). */
export type LoginOutcome =
  | { ok: true; user: User; actor: Actor }
  | { ok: false; reason: 'invalid'; message: string }
  | { ok: false; reason: 'rate-limited'; message: string; retryAfterSeconds: number }

const invalidLogin = 'user name or password is wrong'

/**
 * Checks a user name and password. Unknown user, no password, disabled user and wrong password
 * all answer the same message in about the same time. Each attempt is reserved in the store per
 * user name and per source address before the password is hashed, so parallel attempts on any
 * number of nodes run at most the limit of password checks per window; a failure keeps its
 * reservation, a success clears the user's failures and returns its address place.
 */
export async function loginWithPassword(
  deps: UserDeps,
  input: { username: string; password: string; source?: string },
): Promise<LoginOutcome> {
  const now = deps.clock.now()
  const username = input.username.trim().toLowerCase()
  const userKey = `user:${username}`
  const keys = [
    { key: userKey, limit: loginLimits.perUser },
    ...(input.source ? [{ key: `address:${input.source}`, limit: loginLimits.perAddress }] : []),
  ]
  const actorName = `user:${username}`
  const failAudit = async (why: string) =>
    appendAudit(deps.db, {
      at: now,
      actor: actorName,
      action: 'session.login-failed',
      objectType: 'user',
      objectId: username,
      ...(input.source ? { source: input.source } : {}),
      details: { reason: why },
    })
  const reservation = await reserveLoginAttempt(deps.db, keys, now, loginWindowMs)
  if (!reservation.ok) {
    await failAudit('rate-limited')
    const retryAfterSeconds = Math.max(1, Math.ceil((reservation.until - now) / 1000))
    return {
      ok: false,
      reason: 'rate-limited',
      message: `too many failed logins; try again in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    }
  }
  const user = await getUser(deps.db, username)
  const matches =
    user?.passwordHash !== undefined
      ? await verifyPassword(input.password, user.passwordHash)
      : await verifyDummyPassword(input.password)
  if (!user || !matches || user.disabled) {
    // The reservation stays as the failure.
    await failAudit(!user ? 'unknown user' : !matches ? 'wrong password' : 'disabled')
    return { ok: false, reason: 'invalid', message: invalidLogin }
  }
  await clearLoginFailures(deps.db, [userKey], now - loginWindowMs)
  await releaseLoginAttempts(deps.db, reservation.ids)
  if (user.passwordHash !== undefined && needsRehash(user.passwordHash)) {
    await updateUser(deps.db, username, { passwordHash: await hashPassword(input.password) }, now)
  }
  return { ok: true, user, actor: await userActor(deps, user, input.source) }
}

/** The actor a user acts as: role from the user, team scope from memberships (admins have none). */
export async function userActor(
  deps: Pick<UserDeps, 'db'>,
  user: User,
  source?: string,
): Promise<Actor> {
  const memberships = user.role === 'admin' ? [] : await listMemberships(deps.db, user.username)
  return {
    name: `user:${user.username}`,
    role: user.role,
    user: user.username,
    ...(memberships.length > 0
      ? { teams: Object.fromEntries(memberships.map((m) => [m.team, m.role])) }
      : {}),
    ...(source ? { source } : {}),
  }
}

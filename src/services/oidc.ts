import { createHash } from 'node:crypto'
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../core/errors.js'
import { appendAudit } from '../store/audit.js'
import {
  getUser,
  getUserByOidc,
  insertUser,
  listMemberships,
  setMemberships,
  updateUser,
  type Role,
  type User,
} from '../store/auth.js'
import type { Executor } from '../store/dialect.js'
import { revokeUserSessions } from '../store/sessions.js'
import { roleAllows, roles } from './auth.js'
import type { Actor } from './context.js'
import { readOncallSections } from './oncall.js'
import { getUserView, userActor, type UserDeps, type UserView } from './users.js'

/** How OIDC claims map to a Keel role. */
export interface OidcRoleRules {
  /** The claim holding a role or group name (a string or a list), e.g. `groups`. */
  roleClaim?: string
  /** Claim value → Keel role; the strongest matching role wins. */
  roleMapping?: Record<string, Role>
  /** The role when no claim value maps (or no claim is configured). */
  defaultRole: Role
  /** The claim holding group names for `teamMapping`; `roleClaim` when absent. */
  teamClaim?: string
  /** Claim value → `team:role` memberships; when set, teams follow the claims at each login. */
  teamMapping?: Record<string, string | string[]>
}

/**
 * The team memberships the claims earn under `teamMapping` (the strongest role per team), or
 * undefined when no mapping is configured, so memberships set by hand are left alone.
 */
export function teamsFromClaims(
  claims: Record<string, unknown>,
  rules: OidcRoleRules,
): { team: string; role: Role }[] | undefined {
  if (!rules.teamMapping) return undefined
  const claim = rules.teamClaim ?? rules.roleClaim
  const raw = claim === undefined ? [] : claims[claim]
  const values = (Array.isArray(raw) ? raw : [raw]).filter(
    (v): v is string => typeof v === 'string',
  )
  const best = new Map<string, Role>()
  for (const value of values) {
    const mapped = Object.hasOwn(rules.teamMapping, value) ? rules.teamMapping[value] : undefined
    for (const entry of mapped === undefined ? [] : [mapped].flat()) {
      const [team, role] = entry.split(':') as [string, Role]
      const held = best.get(team)
      if (!held || roleAllows(role, held)) best.set(team, role)
    }
  }
  return [...best].map(([team, role]) => ({ team, role })).sort(byTeam)
}

function byTeam(a: { team: string }, b: { team: string }): number {
  return a.team < b.team ? -1 : a.team > b.team ? 1 : 0
}

/** The role the claims earn under the rules. */
export function roleFromClaims(claims: Record<string, unknown>, rules: OidcRoleRules): Role {
  if (!rules.roleClaim) return rules.defaultRole
  const raw = claims[rules.roleClaim]
  const values = (Array.isArray(raw) ? raw : [raw]).filter(
    (v): v is string => typeof v === 'string',
  )
  let best: Role | undefined
  for (const value of values) {
    // Own keys only: a group named `constructor` must not find Object.prototype's.
    const mapped =
      (rules.roleMapping && Object.hasOwn(rules.roleMapping, value)
        ? rules.roleMapping[value]
        : undefined) ?? (roles.includes(value as Role) ? (value as Role) : undefined)
    if (mapped && (!best || roleAllows(mapped, best))) best = mapped
  }
  return best ?? rules.defaultRole
}

function slugFrom(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 40)
}

/**
 * The user names listed in runbook allow-lists (`allowedUsers`): bare names and `user:<id>`
 * entries, lowercased; `token:…` entries name no person.
 */
export function allowListedNames(lists: readonly (readonly string[] | undefined)[]): Set<string> {
  const names = new Set<string>()
  for (const entry of lists.flatMap((list) => list ?? [])) {
    if (entry.startsWith('token:')) continue
    names.add((entry.startsWith('user:') ? entry.slice('user:'.length) : entry).toLowerCase())
  }
  return names
}

/**
 * Whether a new user may not take this id: a login user has it, keel.yaml `users` names an
 * on-call person by it, or an allow-list names it. Taking such an id would make a stranger the
 * person schedules page and runbooks trust.
 */
async function idTaken(db: Executor, id: string, reserved: ReadonlySet<string>): Promise<boolean> {
  if (reserved.has(id)) return true
  if (await getUser(db, id)) return true
  const oncallUsers = (await readOncallSections(db)).users
  return typeof oncallUsers === 'object' && oncallUsers !== null && Object.hasOwn(oncallUsers, id)
}

/**
 * The id of a user created by an OIDC login: the slug of `preferred_username` (or the e-mail's
 * local part) when no one holds it, else that slug with 6 hex digits of SHA-256(issuer, subject)
 * appended (`carol-3f9a1c`), else `oidc-` and 16 of them.
 */
async function newOidcUserId(
  db: Executor,
  preferred: string,
  issuer: string,
  subject: string,
  reserved: ReadonlySet<string>,
): Promise<string> {
  const base = slugFrom(preferred) || 'user'
  const digest = createHash('sha256').update(`${issuer} ${subject}`).digest('hex')
  for (const id of [base, `${base}-${digest.slice(0, 6)}`, `oidc-${digest.slice(0, 16)}`]) {
    if (!(await idTaken(db, id, reserved))) return id
  }
  throw new ConflictError(
    `no free user id for the OpenID Connect subject ${subject}; link it to a user with keel user link-oidc <user> --issuer ${issuer} --subject ${subject}`,
  )
}

/**
 * Logs in the person an ID token names: the user linked to (issuer, subject), created on first
 * login with an id from `preferred_username` or the e-mail's local part. A user is linked only by
 * (issuer, subject), never by a matching name, so an identity provider that lets people pick
 * their own name cannot take over a Keel identity: a new user never gets the id of a login user,
 * of an on-call user (keel.yaml `users`) or of a name in `reserved` (runbook allow-lists), but a
 * distinct one (see `newOidcUserId`); an admin links an identity to an existing user with
 * `linkOidcIdentity`. The role follows the claims on every login when `roleClaim` is set.
 */
export async function loginWithOidc(
  deps: UserDeps,
  input: {
    issuer: string
    claims: Record<string, unknown>
    rules: OidcRoleRules
    source?: string
    /** Names no new user may take besides login and on-call user ids (runbook allow-lists). */
    reserved?: ReadonlySet<string>
  },
): Promise<{ user: User; actor: Actor }> {
  const subject = input.claims.sub
  if (typeof subject !== 'string' || subject === '') {
    throw new AuthenticationError('the identity provider sent an ID token without a subject')
  }
  const now = deps.clock.now()
  const role = roleFromClaims(input.claims, input.rules)
  const name = typeof input.claims.name === 'string' ? input.claims.name : undefined
  const email = typeof input.claims.email === 'string' ? input.claims.email : undefined
  const audit = (objectId: string, action: string, details: unknown) =>
    appendAudit(deps.db, {
      at: now,
      actor: 'oidc',
      action,
      objectType: 'user',
      objectId,
      ...(input.source ? { source: input.source } : {}),
      details,
    })
  let user = await getUserByOidc(deps.db, input.issuer, subject)
  if (!user) {
    const preferred =
      typeof input.claims.preferred_username === 'string'
        ? input.claims.preferred_username
        : (email?.split('@')[0] ?? '')
    const id = await newOidcUserId(
      deps.db,
      preferred,
      input.issuer,
      subject,
      input.reserved ?? new Set(),
    )
    user = await insertUser(
      deps.db,
      {
        username: id,
        role,
        oidcIssuer: input.issuer,
        oidcSubject: subject,
        ...(name ? { name } : {}),
        ...(email ? { email } : {}),
      },
      now,
    )
    await audit(id, 'user.create', {
      after: { role, issuer: input.issuer, subject },
      ...(preferred !== '' && slugFrom(preferred) !== id ? { preferredUsername: preferred } : {}),
    })
  } else if (input.rules.roleClaim && user.role !== role) {
    const before = user.role
    user = (await updateUser(deps.db, user.username, { role }, now)) as User
    await audit(user.username, 'user.update', {
      before: { role: before },
      after: { role },
      via: 'oidc claims',
    })
  }
  const teams = teamsFromClaims(input.claims, input.rules)
  if (teams !== undefined) {
    const before = (await listMemberships(deps.db, user.username))
      .map(({ team, role }) => ({ team, role }))
      .sort(byTeam)
    if (JSON.stringify(before) !== JSON.stringify(teams)) {
      await setMemberships(deps.db, user.username, teams, now)
      await audit(user.username, 'user.update', {
        before: { teams: before },
        after: { teams },
        via: 'oidc claims',
      })
    }
  }
  if (user.disabled) throw new AuthenticationError(`user ${user.username} is disabled`)
  return { user, actor: await userActor(deps, user, input.source) }
}

/** An identity at an OpenID Connect provider: its issuer URL and its subject there. */
export interface OidcIdentity {
  issuer: string
  subject: string
}

function checkIdentity(identity: OidcIdentity): OidcIdentity {
  const issuer = typeof identity.issuer === 'string' ? identity.issuer.trim() : ''
  const subject = typeof identity.subject === 'string' ? identity.subject : ''
  if (!/^https?:\/\/\S+$/.test(issuer) || issuer.length > 500) {
    throw new InputError(
      `issuer must be the provider's issuer URL as in keel.yaml auth.oidc.issuer (http(s)://…, at most 500 characters), got ${JSON.stringify(identity.issuer)}`,
    )
  }
  if (subject === '' || subject.length > 255) {
    throw new InputError(
      'subject must be the `sub` claim the provider gives the person (1 to 255 characters); the audit event user.create by oidc records it',
    )
  }
  return { issuer, subject }
}

/**
 * Links an OIDC identity to an existing user (an admin action): that person's logins through the
 * provider then act as the user. A user the identity was linked to before (such as `carol-3f9a1c`,
 * made by its first login) loses the link and its sessions. Audited as `user.link-oidc`.
 */
export async function linkOidcIdentity(
  deps: UserDeps,
  actor: Actor,
  id: string,
  identity: OidcIdentity,
): Promise<UserView> {
  const { issuer, subject } = checkIdentity(identity)
  const now = deps.clock.now()
  await deps.db.transaction().execute(async (trx) => {
    const user = await getUser(trx, id)
    if (!user)
      throw new NotFoundError(`user ${id} does not exist; create it with keel user add ${id}`)
    const holder = await getUserByOidc(trx, issuer, subject)
    if (holder?.username === id) return
    let holderSessionsRevoked = 0
    if (holder) {
      await updateUser(trx, holder.username, { oidcIssuer: null, oidcSubject: null }, now)
      holderSessionsRevoked = await revokeUserSessions(trx, holder.username, now)
    }
    await updateUser(trx, id, { oidcIssuer: issuer, oidcSubject: subject }, now)
    await appendAudit(trx, {
      at: now,
      actor: actor.name,
      action: 'user.link-oidc',
      objectType: 'user',
      objectId: id,
      ...(actor.source ? { source: actor.source } : {}),
      details: {
        before:
          user.oidcIssuer !== undefined
            ? { issuer: user.oidcIssuer, subject: user.oidcSubject }
            : null,
        after: { issuer, subject },
        ...(holder ? { movedFrom: holder.username, holderSessionsRevoked } : {}),
      },
    })
  })
  return getUserView(deps, id)
}

/** Removes a user's OIDC link (an admin action); audited as `user.unlink-oidc`. */
export async function unlinkOidcIdentity(
  deps: UserDeps,
  actor: Actor,
  id: string,
): Promise<UserView> {
  const now = deps.clock.now()
  await deps.db.transaction().execute(async (trx) => {
    const user = await getUser(trx, id)
    if (!user) throw new NotFoundError(`user ${id} does not exist`)
    if (user.oidcIssuer === undefined) {
      throw new NotFoundError(`user ${id} has no OpenID Connect identity to unlink`)
    }
    await updateUser(trx, id, { oidcIssuer: null, oidcSubject: null }, now)
    const revoked = await revokeUserSessions(trx, id, now)
    await appendAudit(trx, {
      at: now,
      actor: actor.name,
      action: 'user.unlink-oidc',
      objectType: 'user',
      objectId: id,
      ...(actor.source ? { source: actor.source } : {}),
      details: {
        before: { issuer: user.oidcIssuer, subject: user.oidcSubject },
        sessionsRevoked: revoked,
      },
    })
  })
  return getUserView(deps, id)
}

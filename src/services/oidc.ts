import { createHash } from 'node:crypto'
import { AuthenticationError } from '../core/errors.js'
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
import { roleAllows, roles } from './auth.js'
import type { Actor } from './context.js'
import { userActor, type UserDeps } from './users.js'

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
 * Logs in the person an ID token names: the user linked to (issuer, subject), created on first
 * login with an id from `preferred_username` or the e-mail's local part. A user is linked only by
 * (issuer, subject), never by a matching name, so an identity provider that lets people pick
 * their own name cannot take over an existing Keel account. The role follows the claims on
 * every login when `roleClaim` is set.
 */
export async function loginWithOidc(
  deps: UserDeps,
  input: { issuer: string; claims: Record<string, unknown>; rules: OidcRoleRules; source?: string },
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
    let id = slugFrom(preferred) || 'user'
    if (await getUser(deps.db, id)) {
      const suffix = createHash('sha256').update(`${input.issuer} ${subject}`).digest('hex')
      id = `${id}-${suffix.slice(0, 6)}`
    }
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
    await audit(id, 'user.create', { after: { role, issuer: input.issuer, subject } })
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

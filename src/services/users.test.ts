import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import type { Store } from '../store/dialect.js'
import { roleFromClaims, teamsFromClaims } from './oidc.js'
import {
  bootstrapAdminUser,
  completeSetup,
  loginWithPassword,
  setupLinkLifetimeMs,
} from './users.js'

const sqlite = storeKinds.filter((k) => k.name === 'sqlite')

describe.each(sqlite)('first start on $name', (kind) => {
  let store: Store
  let cleanup: () => Promise<void>
  let now = Date.UTC(2026, 0, 1)
  const clock = { now: () => now }
  beforeAll(async () => {
    ;({ store, cleanup } = await kind.create())
  }, 30_000)
  afterAll(async () => cleanup?.())

  it('creates the admin user once and hands out a one-time setup link, never a password', async () => {
    const deps = { db: store.db, clock }
    const link = await bootstrapAdminUser(deps)
    expect(link).toMatchObject({ user: 'admin', expiresAt: now + setupLinkLifetimeMs })
    expect(link?.path).toMatch(/^\/setup#[\w-]{43}$/)
    expect(await bootstrapAdminUser(deps)).toBeUndefined()
    const refused = await loginWithPassword(deps, { username: 'admin', password: '' })
    expect(refused).toMatchObject({ ok: false, reason: 'invalid' })

    now += setupLinkLifetimeMs - 1
    const user = await completeSetup(deps, {
      token: link?.token ?? '',
      password: 'the very first admin password',
    })
    expect(user).toBe('admin')
    const ok = await loginWithPassword(deps, {
      username: 'Admin',
      password: 'the very first admin password',
    })
    expect(ok).toMatchObject({ ok: true, actor: { name: 'user:admin', role: 'admin' } })
    await expect(
      completeSetup(deps, { token: link?.token ?? '', password: 'someone else entirely' }),
    ).rejects.toThrow('already used')
  })
})

describe('roleFromClaims', () => {
  const rules = {
    roleClaim: 'groups',
    roleMapping: { ops: 'operator', admins: 'admin' } as const,
    defaultRole: 'viewer' as const,
  }
  it.each([
    [{ groups: ['staff', 'ops'] }, 'operator'],
    [{ groups: ['ops', 'admins'] }, 'admin'],
    [{ groups: 'responder' }, 'responder'],
    [{ groups: ['staff'] }, 'viewer'],
    [{}, 'viewer'],
    // Names that are also Object.prototype's keys map to nothing.
    [{ groups: ['constructor', '__proto__', 'toString'] }, 'viewer'],
  ])('maps %j to %s', (claims, role) => {
    expect(roleFromClaims(claims, rules)).toBe(role)
  })
})

describe('teamsFromClaims', () => {
  const rules = {
    roleClaim: 'groups',
    defaultRole: 'viewer' as const,
    teamMapping: { dbas: 'dba:operator', ops: ['dba:responder', 'web:viewer'] },
  }
  it.each([
    [
      { groups: ['ops', 'dbas'] },
      [
        { team: 'dba', role: 'operator' },
        { team: 'web', role: 'viewer' },
      ],
    ],
    [
      { groups: 'ops' },
      [
        { team: 'dba', role: 'responder' },
        { team: 'web', role: 'viewer' },
      ],
    ],
    [{ groups: ['staff', 'constructor', 'hasOwnProperty'] }, []],
    [{}, []],
  ])('maps %j to %j', (claims, teams) => {
    expect(teamsFromClaims(claims, rules)).toEqual(teams)
  })

  it('reads its own claim when given one, and nothing without a mapping', () => {
    expect(
      teamsFromClaims({ groups: ['dbas'], teams: ['ops'] }, { ...rules, teamClaim: 'teams' }),
    ).toEqual([
      { team: 'dba', role: 'responder' },
      { team: 'web', role: 'viewer' },
    ])
    expect(
      teamsFromClaims({ groups: ['dbas'] }, { roleClaim: 'groups', defaultRole: 'viewer' }),
    ).toBeUndefined()
  })
})

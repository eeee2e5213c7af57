import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import * as audit from './audit.js'
import * as auth from './auth.js'
import type { Store } from './dialect.js'
import * as sessions from './sessions.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)

/** The access tables of migration 0008: users, teams, sessions, login attempts, setup links, audit. */
export function runAccessContract(kind: StoreKind): void {
  describe('access store', () => {
    let store: Store
    let cleanup: () => Promise<void>
    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    }, 30_000)
    afterEach(async () => cleanup())

    it('keeps users with profile, OIDC link and team memberships', async () => {
      const { db } = store
      await auth.insertUser(db, { username: 'alice', role: 'operator', name: 'Alice' }, t0)
      await auth.insertUser(
        db,
        { username: 'bob', role: 'viewer', oidcIssuer: 'https://idp', oidcSubject: 's-1' },
        t0,
      )
      expect(await auth.getUser(db, 'alice')).toMatchObject({
        username: 'alice',
        name: 'Alice',
        role: 'operator',
        disabled: false,
      })
      expect((await auth.getUserByOidc(db, 'https://idp', 's-1'))?.username).toBe('bob')
      expect(await auth.getUserByOidc(db, 'https://other', 's-1')).toBeUndefined()
      await expect(
        auth.insertUser(
          db,
          { username: 'carol', role: 'viewer', oidcIssuer: 'https://idp', oidcSubject: 's-1' },
          t0,
        ),
      ).rejects.toThrow()
      const changed = await auth.updateUser(
        db,
        'alice',
        { disabled: true, passwordHash: 'scrypt$x', email: 'a@example.org' },
        t0 + 5,
      )
      expect(changed).toMatchObject({
        disabled: true,
        passwordHash: 'scrypt$x',
        passwordChangedAt: t0 + 5,
        email: 'a@example.org',
      })
      await auth.setMemberships(
        db,
        'alice',
        [
          { team: 'web', role: 'responder' },
          { team: 'dba', role: 'operator' },
        ],
        t0,
      )
      expect(await auth.listMemberships(db, 'alice')).toEqual([
        { username: 'alice', team: 'dba', role: 'operator' },
        { username: 'alice', team: 'web', role: 'responder' },
      ])
      await auth.setMemberships(db, 'alice', [], t0)
      expect(await auth.listMemberships(db, 'alice')).toEqual([])
      expect((await auth.listUsers(db)).map((u) => u.username)).toEqual(['alice', 'bob'])
      expect(await auth.countUsers(db)).toBe(2)
    })

    it('keeps a token team scope and records use at most once per gap', async () => {
      const { db } = store
      await auth.insertApiToken(db, {
        id: 't1',
        name: 'ci',
        tokenHash: 'h1',
        role: 'operator',
        team: 'dba',
        createdAt: t0,
      })
      expect(await auth.findApiTokenByHash(db, 'h1')).toMatchObject({ team: 'dba' })
      expect(await auth.touchApiToken(db, 't1', t0, 60_000)).toBe(true)
      expect(await auth.touchApiToken(db, 't1', t0 + 59_999, 60_000)).toBe(false)
      expect(await auth.touchApiToken(db, 't1', t0 + 60_000, 60_000)).toBe(true)
      expect((await auth.listApiTokens(db))[0]).toMatchObject({ id: 't1', lastUsedAt: t0 + 60_000 })
    })

    it('stores sessions, lists the live ones of a user and revokes them', async () => {
      const { db } = store
      const base = { createdAt: t0, lastSeenAt: t0, expiresAt: t0 + 1_000 }
      await sessions.insertSession(db, { idHash: 's1', username: 'alice', ip: '10.0.0.1', ...base })
      await sessions.insertSession(db, { idHash: 's2', username: 'alice', ...base })
      await sessions.insertSession(db, { idHash: 's3', tokenHash: 'th', ...base })
      expect(await sessions.findSession(db, 's1')).toMatchObject({
        username: 'alice',
        ip: '10.0.0.1',
        expiresAt: t0 + 1_000,
      })
      expect(await sessions.findSession(db, 's3')).toMatchObject({ tokenHash: 'th' })
      expect(await sessions.listUserSessions(db, 'alice', t0)).toHaveLength(2)
      expect(await sessions.revokeSession(db, 's1', t0 + 1)).toBe(true)
      expect(await sessions.revokeSession(db, 's1', t0 + 2)).toBe(false)
      expect((await sessions.listUserSessions(db, 'alice', t0)).map((s) => s.idHash)).toEqual([
        's2',
      ])
      expect(await sessions.revokeUserSessions(db, 'alice', t0 + 3)).toBe(1)
      expect(await sessions.listUserSessions(db, 'alice', t0)).toEqual([])
      await sessions.touchSession(db, 's3', t0 + 10)
      expect((await sessions.findSession(db, 's3'))?.lastSeenAt).toBe(t0 + 10)
      expect(await sessions.deleteEndedSessions(db, t0 + 2_000)).toBe(3)
    })

    it('counts failed logins per key within a window and clears them', async () => {
      const { db } = store
      await sessions.recordLoginFailure(db, ['user:a', 'address:1'], t0)
      await sessions.recordLoginFailure(db, ['user:a', 'address:1'], t0 + 10)
      await sessions.recordLoginFailure(db, ['address:1'], t0 + 20)
      const counts = await sessions.countLoginFailures(db, ['user:a', 'address:1', 'user:b'], t0)
      expect(counts.get('user:a')).toEqual({ count: 2, oldest: t0 })
      expect(counts.get('address:1')).toEqual({ count: 3, oldest: t0 })
      expect(counts.get('user:b')).toBeUndefined()
      const later = await sessions.countLoginFailures(db, ['user:a'], t0 + 5)
      expect(later.get('user:a')).toEqual({ count: 1, oldest: t0 + 10 })
      await sessions.clearLoginFailures(db, ['user:a'], t0 + 15)
      const after = await sessions.countLoginFailures(db, ['user:a', 'address:1'], 0)
      expect(after.get('user:a')).toBeUndefined()
      expect(after.get('address:1')).toEqual({ count: 1, oldest: t0 + 20 })
    })

    it('reserves login attempts up to each key’s limit, also in parallel, and releases them', async () => {
      const { db } = store
      const keys = [
        { key: 'user:a', limit: 3 },
        { key: 'address:1', limit: 5 },
      ]
      const window = 1_000
      const burst = await Promise.all(
        Array.from({ length: 12 }, () => sessions.reserveLoginAttempt(db, keys, t0, window)),
      )
      const granted = burst.filter((r) => r.ok)
      expect(granted).toHaveLength(3)
      expect(burst.filter((r) => !r.ok)).toEqual(
        Array.from({ length: 9 }, () => ({ ok: false, until: t0 + window })),
      )
      const counts = await sessions.countLoginFailures(db, ['user:a', 'address:1'], 0)
      expect(counts.get('user:a')?.count).toBe(3)
      expect(counts.get('address:1')?.count).toBe(3)
      // The address allows two more under another user name, then refuses.
      const other = [{ key: 'user:b', limit: 3 }, keys[1] as sessions.LoginLimitKey]
      expect((await sessions.reserveLoginAttempt(db, other, t0 + 1, window)).ok).toBe(true)
      const last = await sessions.reserveLoginAttempt(db, other, t0 + 2, window)
      expect(last.ok).toBe(true)
      expect(await sessions.reserveLoginAttempt(db, other, t0 + 3, window)).toEqual({
        ok: false,
        until: t0 + window,
      })
      if (last.ok) await sessions.releaseLoginAttempts(db, last.ids)
      expect((await sessions.countLoginFailures(db, ['user:b'], 0)).get('user:b')?.count).toBe(1)
      // Attempts count for exactly the window.
      expect((await sessions.reserveLoginAttempt(db, keys, t0 + window, window)).ok).toBe(true)
    })

    it('ends a user’s other setup links when one is made or used', async () => {
      const { db } = store
      const link = (idHash: string, username = 'alice') =>
        sessions.insertSetupLink(db, { idHash, username, createdAt: t0, expiresAt: t0 + 100 })
      await link('b1', 'bob')
      await link('a1')
      await link('a2')
      expect(await sessions.peekSetupLink(db, 'a1', t0)).toBeUndefined()
      expect(await sessions.peekSetupLink(db, 'a2', t0)).toBe('alice')
      expect(await sessions.peekSetupLink(db, 'b1', t0)).toBe('bob')
      await sessions.insertSetupLink(db, {
        idHash: 'a3',
        username: 'alice',
        createdAt: t0 - 1,
        expiresAt: t0 + 100,
      })
      expect(await sessions.peekSetupLink(db, 'a2', t0)).toBeUndefined()
      // Two live links of one user, as an older Keel left them: using one ends the other.
      await db
        .insertInto('setup_links')
        .values({ id_hash: 'a4', username: 'alice', created_at: t0, expires_at: t0 + 100 })
        .execute()
      expect(await sessions.consumeSetupLink(db, 'a3', t0 + 1)).toBe('alice')
      expect(await sessions.endOtherSetupLinks(db, 'alice', 'a3', t0 + 1)).toBe(1)
      expect(await sessions.peekSetupLink(db, 'a4', t0 + 1)).toBeUndefined()
      expect(await sessions.peekSetupLink(db, 'b1', t0 + 1)).toBe('bob')
      // A password set without a link ends every link of that user, and only theirs.
      await link('a5')
      await link('c1', 'carol')
      expect(await sessions.endOtherSetupLinks(db, 'alice', undefined, t0 + 2)).toBe(1)
      expect(await sessions.peekSetupLink(db, 'a5', t0 + 2)).toBeUndefined()
      expect(await sessions.peekSetupLink(db, 'b1', t0 + 2)).toBe('bob')
      expect(await sessions.peekSetupLink(db, 'c1', t0 + 2)).toBe('carol')
      expect(await sessions.endOtherSetupLinks(db, 'alice', undefined, t0 + 2)).toBe(0)
    })

    it('uses a setup link once and never after it expires', async () => {
      const { db } = store
      await sessions.insertSetupLink(db, {
        idHash: 'l1',
        username: 'alice',
        createdAt: t0,
        expiresAt: t0 + 100,
      })
      await sessions.insertSetupLink(db, {
        idHash: 'l2',
        username: 'bob',
        createdAt: t0,
        expiresAt: t0 + 100,
      })
      expect(await sessions.peekSetupLink(db, 'l1', t0)).toBe('alice')
      const [first, second] = await Promise.all([
        sessions.consumeSetupLink(db, 'l1', t0 + 1),
        sessions.consumeSetupLink(db, 'l1', t0 + 1),
      ])
      expect([first, second].filter(Boolean)).toEqual(['alice'])
      expect(await sessions.peekSetupLink(db, 'l1', t0 + 2)).toBeUndefined()
      expect(await sessions.consumeSetupLink(db, 'l2', t0 + 100)).toBeUndefined()
    })

    it('filters the audit trail and refuses to update or delete it', async () => {
      const { db } = store
      const base = { objectType: 'monitor', objectId: 'web' }
      await audit.appendAudit(db, { at: t0, actor: 'user:a', action: 'monitor.create', ...base })
      await audit.appendAudit(db, {
        at: t0 + 10,
        actor: 'user:b',
        action: 'monitor.update',
        ...base,
      })
      await audit.appendAudit(db, {
        at: t0 + 20,
        actor: 'user:a',
        action: 'session.login',
        objectType: 'session',
        objectId: 'x',
        source: '10.0.0.1',
      })
      expect((await audit.listAudit(db, { actor: 'user:a' })).map((e) => e.action)).toEqual([
        'session.login',
        'monitor.create',
      ])
      expect(
        (await audit.listAudit(db, { since: t0 + 5, until: t0 + 20 })).map((e) => e.actor),
      ).toEqual(['user:b'])
      expect(
        (await audit.listAudit(db, { order: 'asc', objectType: 'monitor' })).map((e) => e.action),
      ).toEqual(['monitor.create', 'monitor.update'])
      const [newest] = await audit.listAudit(db, { limit: 1 })
      expect(
        (await audit.listAudit(db, { beforeId: newest?.id ?? 0 })).map((e) => e.action),
      ).toEqual(['monitor.update', 'monitor.create'])
      await expect(sql`update audit_events set actor = 'someone else'`.execute(db)).rejects.toThrow(
        /append-only/,
      )
      await expect(sql`delete from audit_events`.execute(db)).rejects.toThrow(/append-only/)
      expect(await audit.listAudit(db)).toHaveLength(3)
    })
  })
}

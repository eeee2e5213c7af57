import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiToken } from '../services/auth.js'
import { listAudit } from '../store/audit.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'
import { sessionCacheMs } from './session-routes.js'

const csrf = { 'x-keel-csrf': '1' }
const tcp = { type: 'tcp', host: '127.0.0.1', port: 9 }
const password = 'correct horse battery staple'

describe.each(apiStoreKinds)('access control on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (!kind.skipReason) h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  async function addUser(id: string, role: string, teams?: { team: string; role: string }[]) {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: h.as('admin'),
      payload: { id, role, ...(teams ? { teams } : {}) },
    })
    expect(created.statusCode).toBe(201)
    const url = created.json().setupLink.url as string
    expect(url).toMatch(/^\/setup#[\w-]{43}$/)
    const token = url.slice('/setup#'.length)
    const set = await h.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token, password },
    })
    expect(set.statusCode).toBe(200)
    return token
  }

  async function login(user: string, secret = password, app = h.app) {
    return app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { user, password: secret },
    })
  }

  function cookieOf(response: { headers: Record<string, unknown> }): string {
    return String(response.headers['set-cookie']).split(';')[0] as string
  }

  it.skipIf(kind.skipReason)(
    'sets a password through a one-time link, then logs in with it',
    async () => {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: h.as('admin'),
        payload: { id: 'alice', role: 'operator', name: 'Alice' },
      })
      expect(created.statusCode).toBe(201)
      expect(created.json().user).toMatchObject({
        id: 'alice',
        role: 'operator',
        hasPassword: false,
      })
      const token = String(created.json().setupLink.url).split('#')[1] as string
      const peek = await h.app.inject({ url: `/api/v1/setup/${token}` })
      expect(peek.json()).toEqual({ user: 'alice' })
      const weak = await h.app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { token, password: 'short' },
      })
      expect(weak.statusCode).toBe(400)
      expect(weak.json().error.message).toContain('at least 10 characters')
      const set = await h.app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { token, password },
      })
      expect(set.json()).toEqual({ user: 'alice' })
      const again = await h.app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { token, password: 'another long password' },
      })
      expect(again.statusCode).toBe(404)
      expect(again.json().error.message).toContain('already used')

      const ok = await login('alice')
      expect(ok.statusCode).toBe(200)
      expect(ok.json()).toMatchObject({ name: 'user:alice', user: 'alice', role: 'operator' })
      const me = await h.app.inject({ url: '/api/v1/session', headers: { cookie: cookieOf(ok) } })
      expect(me.json()).toMatchObject({ user: 'alice', role: 'operator' })
      const users = await h.app.inject({ url: '/api/v1/users', headers: h.as('admin') })
      expect(JSON.stringify(users.json())).not.toContain('scrypt')
    },
  )

  it.skipIf(kind.skipReason)(
    'answers an unknown user and a wrong password alike, and rate-limits failures',
    async () => {
      await addUser('bob', 'viewer')
      const unknown = await login('nobody', 'whatever-it-is')
      const wrong = await login('bob', 'wrong password!')
      expect(unknown.statusCode).toBe(401)
      expect(wrong.statusCode).toBe(401)
      expect(unknown.json()).toEqual(wrong.json())
      expect(wrong.json().error.message).toBe('user name or password is wrong')
      for (let i = 0; i < 4; i++)
        expect((await login('bob', `wrong ${i} password`)).statusCode).toBe(401)
      const limited = await login('bob')
      expect(limited.statusCode).toBe(429)
      expect(Number(limited.headers['retry-after'])).toBe(15 * 60)
      h.clock.advance(15 * 60_000)
      expect((await login('bob')).statusCode).toBe(200)
      const failures = await listAudit(h.store.db, { action: 'session.login-failed' })
      expect(failures.map((e) => e.details)).toContainEqual({ reason: 'rate-limited' })
      expect(failures.map((e) => e.details)).toContainEqual({ reason: 'unknown user' })
    },
  )

  it.skipIf(kind.skipReason)(
    'keeps sessions in the store: another node accepts the cookie and a revocation reaches both',
    async () => {
      await addUser('carol', 'responder')
      const first = await login('carol')
      const cookie = cookieOf(first)
      const other = await buildApi({
        db: h.store.db,
        clock: h.clock,
        log: pino({ level: 'silent' }),
        metrics: createMetrics(),
      })
      try {
        const there = await other.inject({ url: '/api/v1/session', headers: { cookie } })
        expect(there.json()).toMatchObject({ user: 'carol', role: 'responder' })
        const list = await other.inject({ url: '/api/v1/sessions', headers: { cookie } })
        const [session] = list.json().items
        expect(session).toMatchObject({ current: true, ip: '127.0.0.1' })
        const revoked = await other.inject({
          method: 'DELETE',
          url: `/api/v1/sessions/${session.id}`,
          headers: { cookie, ...csrf },
        })
        expect(revoked.statusCode).toBe(204)
        expect(
          (await other.inject({ url: '/api/v1/session', headers: { cookie } })).statusCode,
        ).toBe(401)
        // The first node trusts its cached row for a few seconds, then sees the revocation.
        h.clock.advance(sessionCacheMs)
        expect(
          (await h.app.inject({ url: '/api/v1/session', headers: { cookie } })).statusCode,
        ).toBe(401)
      } finally {
        await other.close()
      }
    },
  )

  it.skipIf(kind.skipReason)(
    'ends every session of a user who is disabled or gets a new password',
    async () => {
      await addUser('dave', 'operator')
      const a = cookieOf(await login('dave'))
      const changed = await h.app.inject({
        method: 'POST',
        url: '/api/v1/users/dave/password',
        headers: h.as('admin'),
        payload: { password: 'a brand new passphrase' },
      })
      expect(changed.statusCode).toBe(204)
      expect(
        (await h.app.inject({ url: '/api/v1/session', headers: { cookie: a } })).statusCode,
      ).toBe(401)
      const b = cookieOf(await login('dave', 'a brand new passphrase'))
      const disabled = await h.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/dave',
        headers: h.as('admin'),
        payload: { disabled: true },
      })
      expect(disabled.json()).toMatchObject({ disabled: true })
      expect(
        (await h.app.inject({ url: '/api/v1/session', headers: { cookie: b } })).statusCode,
      ).toBe(401)
      expect((await login('dave', 'a brand new passphrase')).statusCode).toBe(401)
      const events = await listAudit(h.store.db, { objectType: 'user', objectId: 'dave' })
      expect(events.map((e) => e.action)).toEqual(
        expect.arrayContaining(['user.create', 'user.password', 'user.disable']),
      )
      const disable = events.find((e) => e.action === 'user.disable')
      expect(disable?.details).toMatchObject({
        before: { disabled: false },
        after: { disabled: true },
        sessionsRevoked: 1,
      })
    },
  )

  it.skipIf(kind.skipReason)(
    'lets a team-scoped token or user change only the monitors of its team',
    async () => {
      const scoped = await createApiToken(
        { db: h.store.db, clock: h.clock },
        { name: 'dba-ci', role: 'operator', team: 'dba' },
      )
      const headers = { authorization: `Bearer ${scoped.token}` }
      const create = (id: string, labels?: Record<string, string>, as = headers) =>
        h.app.inject({
          method: 'POST',
          url: '/api/v1/monitors',
          headers: as,
          payload: { id, ...tcp, ...(labels ? { labels } : {}) },
        })
      expect((await create('dba-main', { team: 'dba' })).statusCode).toBe(201)
      const foreign = await create('web-front', { team: 'web' })
      expect(foreign.statusCode).toBe(403)
      expect(foreign.json().error.message).toBe(
        'token:dba-ci is scoped to team dba; monitor web-front belongs to team web',
      )
      const unowned = await create('no-team')
      expect(unowned.statusCode).toBe(403)
      expect(unowned.json().error.message).toContain('set its label team=dba')
      expect((await create('web-front', { team: 'web' }, h.as('admin'))).statusCode).toBe(201)
      const edit = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/monitors/web-front',
        headers,
        payload: { ...tcp, labels: { team: 'dba' } },
      })
      expect(edit.statusCode).toBe(403)

      await addUser('erin', 'operator', [{ team: 'web', role: 'responder' }])
      const cookie = cookieOf(await login('erin'))
      const asErin = { cookie, ...csrf }
      const pause = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/web-front/pause',
        headers: asErin,
      })
      expect(pause.statusCode).toBe(200)
      const replace = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/monitors/web-front',
        headers: asErin,
        payload: { ...tcp, port: 10, labels: { team: 'web' } },
      })
      expect(replace.statusCode).toBe(403)
      expect(replace.json().error.message).toBe(
        'user:erin has role responder in team web; changing monitor web-front needs operator or higher',
      )
      const dba = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/dba-main/pause',
        headers: asErin,
      })
      expect(dba.statusCode).toBe(403)
    },
  )

  it.skipIf(kind.skipReason)(
    'records token use once a minute and serves the trail with filters and as JSON lines',
    async () => {
      const minted = await createApiToken(
        { db: h.store.db, clock: h.clock },
        { name: 'auditor', role: 'viewer' },
      )
      const headers = { authorization: `Bearer ${minted.token}` }
      for (let i = 0; i < 3; i++) await h.app.inject({ url: '/api/v1/monitors', headers })
      h.clock.advance(60_000)
      await h.app.inject({ url: '/api/v1/monitors', headers })
      const uses = await listAudit(h.store.db, { action: 'token.use', actor: 'token:auditor' })
      expect(uses).toHaveLength(2)
      expect(uses[0]).toMatchObject({ objectType: 'token', source: '127.0.0.1' })

      const page = await h.app.inject({
        url: '/api/v1/audit?actor=user:alice&action=session.login&limit=1',
        headers: h.as('admin'),
      })
      expect(page.statusCode).toBe(200)
      expect(page.json().items).toEqual([
        expect.objectContaining({
          actor: 'user:alice',
          action: 'session.login',
          source: '127.0.0.1',
        }),
      ])
      const monitors = await h.app.inject({
        url: '/api/v1/audit?objectType=monitor&objectId=web-front&limit=1',
        headers: h.as('admin'),
      })
      expect(monitors.json().next).toBeDefined()
      const older = await h.app.inject({
        url: `/api/v1/audit?objectType=monitor&objectId=web-front&before=${monitors.json().next}`,
        headers: h.as('admin'),
      })
      expect(older.json().items.map((e: { action: string }) => e.action)).toContain(
        'monitor.create',
      )
      const bad = await h.app.inject({
        url: '/api/v1/audit?since=yesterday',
        headers: h.as('admin'),
      })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.message).toContain('since must be an ISO 8601 time')

      const jsonl = await h.app.inject({
        url: '/api/v1/audit?format=jsonl',
        headers: h.as('admin'),
      })
      expect(jsonl.headers['content-type']).toContain('application/x-ndjson')
      const lines = jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: number })
      expect(lines.length).toBe((await listAudit(h.store.db, { limit: 10_000 })).length)
      expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((a, b) => a - b))
    },
  )
})

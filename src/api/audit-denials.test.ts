import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiToken, revokeToken } from '../services/auth.js'
import { listAudit, type AuditEvent } from '../store/audit.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import {
  badCredentialsAction,
  deniedAction,
  DenialLimiter,
  denialEventsPerWindow,
  denialWindowMs,
} from './denial-audit.js'

// Refused API requests reach the audit trail: 403s with who was refused, 401s for a token or
// session cookie that was presented but is not valid. Each is recorded at most once a minute per
// (actor or address, route, reason), with the count of repeats held back, never the secret.

const tcp = { type: 'tcp', host: '127.0.0.1', port: 9 }

describe.each(apiStoreKinds)('refused requests in the audit trail on $name', ({ kind }) => {
  let h: ApiHarness
  let dbaResponder = ''
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('admin'),
      payload: { id: 'web-front', ...tcp, labels: { team: 'web' } },
    })
    expect(created.statusCode, created.body).toBe(201)
    dbaResponder = (
      await createApiToken(
        { db: h.store.db, clock: h.clock },
        { name: 'dba-responder', role: 'responder', team: 'dba' },
      )
    ).token
  }, 60_000)
  afterAll(async () => h?.close())

  /** Moves past every window, so earlier tests' refusals do not hold back the next one. */
  const nextMinute = () => h.clock.advance(denialWindowMs)

  it.skipIf(kind.skipReason)(
    'records a 403 for a role too weak with the actor, the route pattern and the address',
    async () => {
      nextMinute()
      const refused = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/monitors/web-front?why=cleanup',
        headers: h.as('viewer'),
        remoteAddress: '192.0.2.7',
      })
      expect(refused.statusCode).toBe(403)
      const [event] = await listAudit(h.store.db, { action: deniedAction, limit: 1 })
      expect(event).toMatchObject({
        actor: 'token:test-viewer',
        objectType: 'route',
        objectId: 'DELETE /api/v1/monitors/:id',
        source: '192.0.2.7',
        details: { status: 403, credential: 'bearer' },
      })
      expect((event?.details as { reason: string }).reason).toContain('needs operator')
    },
  )

  it.skipIf(kind.skipReason)(
    "records a 403 a service gives for another team's object (check now)",
    async () => {
      nextMinute()
      const refused = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/web-front/check',
        headers: { authorization: `Bearer ${dbaResponder}` },
      })
      expect(refused.statusCode).toBe(403)
      const [event] = await listAudit(h.store.db, { action: deniedAction, limit: 1 })
      expect(event).toMatchObject({
        actor: 'token:dba-responder',
        objectId: 'POST /api/v1/monitors/:id/check',
        source: '127.0.0.1',
      })
      expect((event?.details as { reason: string }).reason).toContain('belongs to team web')
    },
  )

  it.skipIf(kind.skipReason)(
    'records a bad bearer token by a hint of its hash, never the token or the query',
    async () => {
      nextMinute()
      const secret = 'keel_NotARealTokenButSecretAnyway0123456789abcdefg'
      const refused = await h.app.inject({
        url: '/api/v1/monitors?apikey=query-secret-42',
        headers: { authorization: `Bearer ${secret}` },
        remoteAddress: '198.51.100.3',
      })
      expect(refused.statusCode).toBe(401)
      const [event] = await listAudit(h.store.db, { action: badCredentialsAction, limit: 1 })
      expect(event).toMatchObject({
        actor: 'anonymous',
        objectType: 'route',
        objectId: 'GET /api/v1/monitors',
        source: '198.51.100.3',
        details: { status: 401, credential: 'bearer', reason: 'unknown API token' },
      })
      expect((event?.details as { hint: string }).hint).toMatch(/^sha256:[0-9a-f]{12}$/)
      const everything = JSON.stringify(await listAudit(h.store.db, { limit: 10_000 }))
      expect(everything).not.toContain(secret)
      expect(everything).not.toContain(secret.slice(5, 20))
      expect(everything).not.toContain('query-secret-42')
    },
  )

  it.skipIf(kind.skipReason)(
    'names a revoked token, and records a bad session cookie',
    async () => {
      nextMinute()
      const revoked = await createApiToken(
        { db: h.store.db, clock: h.clock },
        { name: 'old-ci', role: 'operator' },
      )
      await revokeToken({ db: h.store.db, clock: h.clock }, revoked.id, {
        name: 'test',
        role: 'admin',
      })
      const byRevoked = await h.app.inject({
        url: '/api/v1/incidents',
        headers: { authorization: `Bearer ${revoked.token}` },
      })
      expect(byRevoked.statusCode).toBe(401)
      const [named] = await listAudit(h.store.db, { action: badCredentialsAction, limit: 1 })
      expect(named).toMatchObject({
        actor: 'token:old-ci',
        objectId: 'GET /api/v1/incidents',
        details: { reason: 'API token old-ci was revoked' },
      })
      const byCookie = await h.app.inject({
        url: '/api/v1/incidents',
        headers: { cookie: 'keel_session=forged-session-id-0123456789' },
      })
      expect(byCookie.statusCode).toBe(401)
      const [session] = await listAudit(h.store.db, { action: badCredentialsAction, limit: 1 })
      expect(session).toMatchObject({ actor: 'anonymous', details: { credential: 'session' } })
      expect(JSON.stringify(session)).not.toContain('forged-session-id')
    },
  )

  it.skipIf(kind.skipReason)('does not record a request that presented no credential', async () => {
    nextMinute()
    const before = (await listAudit(h.store.db, { limit: 1 }))[0]?.id
    const anonymous = await h.app.inject({ url: '/api/v1/monitors' })
    expect(anonymous.statusCode).toBe(401)
    expect((await listAudit(h.store.db, { limit: 1 }))[0]?.id).toBe(before)
  })

  it.skipIf(kind.skipReason)(
    '1,000 bad-token requests in a minute make one event; the next carries the 999 held back',
    async () => {
      nextMinute()
      const since = h.clock.now()
      const flood = (n: number) =>
        Promise.all(
          Array.from({ length: n }, () =>
            h.app.inject({
              url: '/api/v1/alerts',
              headers: { authorization: 'Bearer keel_guessing' },
              remoteAddress: '203.0.113.9',
            }),
          ),
        )
      for (let batch = 0; batch < 10; batch++) {
        const answers = await flood(100)
        expect(answers.every((a) => a.statusCode === 401)).toBe(true)
        h.clock.advance(5_000)
      }
      const mine = async () =>
        (
          await listAudit(h.store.db, { action: badCredentialsAction, since, limit: 10_000 })
        ).filter((e) => e.source === '203.0.113.9')
      const first = await mine()
      expect(first).toHaveLength(1)
      expect(first[0]?.details).not.toHaveProperty('suppressed')
      h.clock.advance(denialWindowMs)
      await flood(1)
      const after = await mine()
      expect(after).toHaveLength(2)
      expect(after[0]?.details).toMatchObject({ suppressed: 999 })
    },
  )

  it.skipIf(kind.skipReason)('records the same refusal from another address apart', async () => {
    nextMinute()
    const since = h.clock.now()
    for (const remoteAddress of ['192.0.2.1', '192.0.2.2', '192.0.2.1']) {
      await h.app.inject({
        url: '/api/v1/status',
        headers: { authorization: 'Bearer keel_wrong' },
        remoteAddress,
      })
    }
    const recorded: AuditEvent[] = await listAudit(h.store.db, {
      action: badCredentialsAction,
      since,
    })
    expect(recorded.map((e) => e.source).sort()).toEqual(['192.0.2.1', '192.0.2.2'])
  })
})

describe('DenialLimiter', () => {
  it('records a key once a window and carries the count of repeats into the next event', () => {
    const limiter = new DenialLimiter(60_000, 100)
    expect(limiter.admit('a', 0)).toEqual({ record: true, suppressed: 0 })
    for (let t = 1; t < 60_000; t += 100) expect(limiter.admit('a', t)).toEqual({ record: false })
    expect(limiter.admit('a', 60_000)).toEqual({ record: true, suppressed: 600 })
    expect(limiter.admit('a', 60_001)).toEqual({ record: false })
  })

  it('holds the number of events a window to its cap however many keys there are', () => {
    const limiter = new DenialLimiter(60_000, denialEventsPerWindow)
    let recorded = 0
    for (let i = 0; i < 50_000; i++) if (limiter.admit(`address:${i}`, i).record) recorded++
    expect(recorded).toBeLessThanOrEqual(denialEventsPerWindow)
    const next = limiter.admit('address:late', 60_000)
    expect(next).toMatchObject({ record: true, suppressed: 0 })
    expect((next as { suppressedOther?: number }).suppressedOther).toBe(
      50_000 - denialEventsPerWindow,
    )
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiToken } from '../services/auth.js'
import { findApiTokenByHash, revokeApiToken } from '../store/auth.js'
import { hashToken } from '../services/auth.js'
import { insertMonitor, saveRuntime, getMonitor } from '../store/monitors.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { MonitorChangeFeed, type MonitorFeedEvent } from './events-routes.js'
import { cookieValue, sessionLifetimeMs } from './session-routes.js'

const sqlite = apiStoreKinds.filter((k) => k.name === 'sqlite')
const csrf = { 'x-keel-csrf': '1' }

describe.each(sqlite)('browser sessions on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  async function login(token: string) {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { token },
    })
    expect(response.statusCode).toBe(200)
    const setCookie = String(response.headers['set-cookie'])
    return { response, setCookie, cookie: setCookie.split(';')[0] as string }
  }

  it('trades a token for an HttpOnly, SameSite=Strict cookie that authenticates like the token', async () => {
    const { response, setCookie, cookie } = await login(h.tokens.responder)
    expect(response.json()).toMatchObject({ name: 'token:test-responder', role: 'responder' })
    expect(setCookie).toMatch(
      /^keel_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    )
    expect(setCookie).toContain(`Max-Age=${sessionLifetimeMs / 1000}`)
    const me = await h.app.inject({ url: '/api/v1/session', headers: { cookie } })
    expect(me.json()).toMatchObject({ role: 'responder' })
    const list = await h.app.inject({ url: '/api/v1/monitors', headers: { cookie } })
    expect(list.statusCode).toBe(200)
    const admin = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, ...csrf },
      payload: { name: 'x', role: 'viewer' },
    })
    expect(admin.statusCode).toBe(403)
    expect(admin.json().error.message).toContain('needs admin')
  })

  it('refuses a bad token, and a login without the CSRF header', async () => {
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { token: 'keel_nope' },
    })
    expect(bad.statusCode).toBe(401)
    expect(bad.headers['set-cookie']).toBeUndefined()
    const noHeader = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { token: h.tokens.admin },
    })
    expect(noHeader.statusCode).toBe(403)
    expect(noHeader.json().error.message).toContain('X-Keel-CSRF: 1')
  })

  it('demands the CSRF header on state-changing requests made with the cookie', async () => {
    const { cookie } = await login(h.tokens.operator)
    await insertMonitor(
      h.store.db,
      {
        slug: 'csrf-target',
        type: 'tcp',
        spec: { type: 'tcp', host: '127.0.0.1', port: 9 },
        source: 'api',
        paused: false,
      },
      h.clock.now(),
      h.clock.now(),
    )
    const forged = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors/csrf-target/pause',
      headers: { cookie },
    })
    expect(forged.statusCode).toBe(403)
    expect(forged.json().error.message).toContain('X-Keel-CSRF')
    const real = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors/csrf-target/pause',
      headers: { cookie, ...csrf },
    })
    expect(real.statusCode).toBe(200)
    expect(real.json()).toMatchObject({ paused: true, state: 'paused' })
  })

  it('ends the session on logout, on expiry and when its token is revoked', async () => {
    const first = await login(h.tokens.viewer)
    const out = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie: first.cookie, ...csrf },
    })
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toContain(
      'keel_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0',
    )
    const after = await h.app.inject({ url: '/api/v1/monitors', headers: { cookie: first.cookie } })
    expect(after.statusCode).toBe(401)
    expect(after.json().error.message).toContain('log in again')

    const second = await login(h.tokens.viewer)
    h.clock.advance(sessionLifetimeMs)
    const expired = await h.app.inject({
      url: '/api/v1/monitors',
      headers: { cookie: second.cookie },
    })
    expect(expired.statusCode).toBe(401)

    const created = await createApiToken(
      { db: h.store.db, clock: h.clock },
      { name: 'soon-revoked', role: 'admin' },
    )
    const third = await login(created.token)
    const row = await findApiTokenByHash(h.store.db, hashToken(created.token))
    await revokeApiToken(h.store.db, row!.id, h.clock.now())
    const revoked = await h.app.inject({
      url: '/api/v1/monitors',
      headers: { cookie: third.cookie },
    })
    expect(revoked.statusCode).toBe(401)
    expect(revoked.json().error.message).toContain('revoked')
  })

  it('prefers a bearer token over the cookie', async () => {
    const viewer = await login(h.tokens.viewer)
    const response = await h.app.inject({
      url: '/api/v1/session',
      headers: { cookie: viewer.cookie, ...h.as('admin') },
    })
    expect(response.json()).toMatchObject({ role: 'admin' })
  })

  it('answers a plain GET of the event stream with 406 rather than a stream', async () => {
    const response = await h.app.inject({ url: '/api/v1/events', headers: h.as('viewer') })
    expect(response.statusCode).toBe(406)
    expect(response.json().error.message).toContain('text/event-stream')
  })

  it('reports monitors that another writer checked, once each, after the baseline', async () => {
    const feed = new MonitorChangeFeed(
      { db: h.store.db, clock: h.clock, log: h.app.log as never },
      { pollMs: 60_000 },
    )
    const events: MonitorFeedEvent[] = []
    const stop = await feed.subscribe((e) => events.push(e))
    expect(events).toEqual([])
    const row = await getMonitor(h.store.db, 'csrf-target')
    h.clock.advance(1_000)
    await saveRuntime(h.store.db, {
      monitorId: row!.id,
      runtime: { ...row!.runtime, state: 'down', since: h.clock.now() },
      checkedAt: h.clock.now(),
      status: 'down',
      latencyMs: 12,
      message: 'connection refused',
      nextDueAt: h.clock.now() + 60_000,
    })
    await feed.poll()
    await feed.poll()
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      kind: 'monitor',
      view: { id: 'csrf-target', state: 'down', lastMessage: 'connection refused' },
    })
    stop()
    expect(feed.size).toBe(0)
  })
})

describe('cookieValue', () => {
  it.each([
    { header: 'keel_session=abc', value: 'abc' },
    { header: 'a=1; keel_session=abc; b=2', value: 'abc' },
    { header: 'other_keel_session=x', value: undefined },
    { header: undefined, value: undefined },
  ])('reads $header', ({ header, value }) => {
    expect(cookieValue(header, 'keel_session')).toBe(value)
  })
})

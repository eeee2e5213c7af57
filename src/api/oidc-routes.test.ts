import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
// oidc-provider (a dev dependency, the test's identity provider) ships no type declarations.
// @ts-expect-error -- untyped module
import Provider from 'oidc-provider'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunOutputHub } from '../services/runbooks.js'
import { writeOncallSections } from '../services/oncall.js'
import { listAudit } from '../store/audit.js'
import { getUser, listMemberships, setMemberships } from '../store/auth.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'
import { sessionCacheMs } from './session-routes.js'

const redirectUrl = 'http://keel.test/auth/oidc/callback'

/* eslint-disable @typescript-eslint/no-explicit-any -- oidc-provider is untyped */

/** Who the provider's stand-in login form says the person is, and each account's claims. */
interface ProviderAccounts {
  current: string
  claims: Record<string, Record<string, unknown>>
}

/**
 * A real OpenID provider on loopback: one client, login finished without a form as
 * `accounts.current` (by default account `u-42`, Olivia).
 */
async function startProvider(
  accounts: ProviderAccounts = { current: 'u-42', claims: {} },
): Promise<{ issuer: string; close(): Promise<void> }> {
  const idp: { provider?: any } = {}
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      // Stands in for the login form: the person proves to be account `accounts.current`.
      void idp.provider.interactionFinished(
        req,
        res,
        { login: { accountId: accounts.current } },
        { mergeWithLastSubmission: false },
      )
      return
    }
    idp.provider.callback()(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  idp.provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'keel',
        client_secret: 'keel-test-secret',
        redirect_uris: [redirectUrl],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        claims: async () =>
          accounts.claims[id] !== undefined
            ? { sub: id, ...accounts.claims[id] }
            : {
                sub: id,
                preferred_username: 'Olivia',
                name: 'Olivia Ops',
                email: 'olivia@example.org',
                groups: ['staff', 'keel-operators'],
              },
      }
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email'],
    },
    // Put the scope's claims in the ID token, where Keel reads them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    // Consent is implied for the one client, so only the login interaction remains.
    async loadExistingGrant(ctx: any) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      })
      grant.addOIDCScope('openid profile email')
      await grant.save()
      return grant
    },
    pkce: { required: () => true },
    ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600 },
    cookies: { keys: ['oidc-test-cookie-key'] },
  })
  return {
    issuer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** Follows the provider's redirects with a cookie jar until they lead back to Keel. */
async function followToKeel(start: string): Promise<URL> {
  const jar = new Map<string, string>()
  let url = start
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(redirectUrl)) return new URL(url)
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';')
      const eq = pair.indexOf('=')
      jar.set(pair.slice(0, eq), pair.slice(eq + 1))
    }
    const location = response.headers.get('location')
    if (!location)
      throw new Error(`provider answered ${response.status} at ${url}: ${await response.text()}`)
    url = new URL(location, url).href
  }
  throw new Error('too many redirects')
}

describe.each(apiStoreKinds)('OpenID Connect login on $name', ({ kind }) => {
  let h: ApiHarness
  let app: FastifyInstance
  let provider: { issuer: string; close(): Promise<void> }
  beforeAll(async () => {
    if (kind.skipReason) return
    provider = await startProvider()
    h = await startApiHarness(kind)
    app = await buildApi({
      db: h.store.db,
      clock: h.clock,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      oidc: {
        issuer: provider.issuer,
        clientId: 'keel',
        clientSecret: 'keel-test-secret',
        redirectUrl,
        displayName: 'Test IdP',
        roleClaim: 'groups',
        roleMapping: { 'keel-operators': 'operator', 'keel-admins': 'admin' },
        // `staff` and `keel-operators` both name dba: the stronger role wins.
        teamMapping: { 'keel-operators': 'dba:operator', staff: ['web:viewer', 'dba:responder'] },
        defaultRole: 'viewer',
        allowHttp: true,
      },
    })
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await h?.close()
    await provider?.close()
  })

  async function signIn() {
    const start = await app.inject({ url: '/auth/oidc/login' })
    expect(start.statusCode).toBe(302)
    const authorize = new URL(String(start.headers.location))
    expect(authorize.origin).toBe(provider.issuer)
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('state')).toBeTruthy()
    expect(authorize.searchParams.get('nonce')).toBeTruthy()
    const flowCookie = String(start.headers['set-cookie']).split(';')[0] as string
    const back = await followToKeel(authorize.href)
    expect(back.searchParams.get('code')).toBeTruthy()
    return { back, flowCookie }
  }

  it.skipIf(kind.skipReason)('offers the provider on the login page', async () => {
    const methods = await app.inject({ url: '/api/v1/auth/methods' })
    expect(methods.json()).toEqual({
      password: true,
      token: true,
      oidc: { name: 'Test IdP', loginUrl: '/auth/oidc/login' },
    })
    const without = await h.app.inject({ url: '/api/v1/auth/methods' })
    expect(without.json().oidc).toBeUndefined()
    expect((await h.app.inject({ url: '/auth/oidc/login' })).statusCode).toBe(404)
  })

  it.skipIf(kind.skipReason)(
    'logs in through the provider, creating the user with the mapped role',
    async () => {
      const { back, flowCookie } = await signIn()
      const done = await app.inject({
        url: `/auth/oidc/callback${back.search}`,
        headers: { cookie: flowCookie },
      })
      expect(done.statusCode).toBe(302)
      expect(done.headers.location).toBe('/')
      const cookies = [done.headers['set-cookie']].flat().map(String)
      const session = cookies.find((c) => c.startsWith('keel_session='))
      expect(session).toMatch(/HttpOnly; SameSite=Strict/)
      expect(cookies.some((c) => c.startsWith('keel_oidc=;'))).toBe(true)
      const me = await app.inject({
        url: '/api/v1/session',
        headers: { cookie: (session as string).split(';')[0] as string },
      })
      expect(me.json()).toMatchObject({
        user: 'olivia',
        role: 'operator',
        teams: { dba: 'operator', web: 'viewer' },
      })
      expect(await listMemberships(h.store.db, 'olivia')).toEqual([
        { username: 'olivia', team: 'dba', role: 'operator' },
        { username: 'olivia', team: 'web', role: 'viewer' },
      ])
      expect(await getUser(h.store.db, 'olivia')).toMatchObject({
        oidcIssuer: provider.issuer,
        oidcSubject: 'u-42',
        email: 'olivia@example.org',
        role: 'operator',
      })
      const logins = await listAudit(h.store.db, { action: 'session.login', actor: 'user:olivia' })
      expect(logins[0]?.details).toEqual({ via: 'oidc' })

      // A second login finds the same user by (issuer, subject) instead of creating another.
      const again = await signIn()
      const second = await app.inject({
        url: `/auth/oidc/callback${again.back.search}`,
        headers: { cookie: again.flowCookie },
      })
      expect(second.statusCode).toBe(302)
      expect((await listAudit(h.store.db, { action: 'user.create', actor: 'oidc' })).length).toBe(1)

      // Teams follow the claims at every login: a membership set by hand in between is replaced.
      await setMemberships(h.store.db, 'olivia', [{ team: 'mail', role: 'admin' }], h.clock.now())
      const third = await signIn()
      await app.inject({
        url: `/auth/oidc/callback${third.back.search}`,
        headers: { cookie: third.flowCookie },
      })
      expect((await listMemberships(h.store.db, 'olivia')).map((m) => m.team)).toEqual([
        'dba',
        'web',
      ])
      const changes = await listAudit(h.store.db, { action: 'user.update', actor: 'oidc' })
      expect(changes[0]?.details).toMatchObject({
        before: { teams: [{ team: 'mail', role: 'admin' }] },
        via: 'oidc claims',
      })
    },
  )

  it.skipIf(kind.skipReason)(
    'refuses a callback whose state does not match the browser’s flow',
    async () => {
      const first = await signIn()
      const other = await app.inject({ url: '/auth/oidc/login' })
      const otherCookie = String(other.headers['set-cookie']).split(';')[0] as string
      const forged = await app.inject({
        url: `/auth/oidc/callback${first.back.search}`,
        headers: { cookie: otherCookie },
      })
      expect(forged.statusCode).toBe(401)
      expect(forged.json().error.message).toContain('OpenID Connect login failed')
      const none = await app.inject({ url: `/auth/oidc/callback${first.back.search}` })
      expect(none.statusCode).toBe(401)
      expect(none.json().error.message).toContain('start again at /auth/oidc/login')
    },
  )
})

describe.each(apiStoreKinds)('OpenID Connect identities on $name', ({ kind }) => {
  let h: ApiHarness
  let app: FastifyInstance
  let provider: { issuer: string; close(): Promise<void> }
  let runbookDir: string
  const accounts: ProviderAccounts = {
    current: 'u-carol',
    claims: {
      // Each picks the user name of someone Keel already knows.
      'u-carol': { preferred_username: 'Carol', name: 'Not Carol' },
      'u-dan': { preferred_username: 'dan' },
      'u-erin': { email: 'erin@example.org' },
    },
  }
  beforeAll(async () => {
    if (kind.skipReason) return
    provider = await startProvider(accounts)
    h = await startApiHarness(kind)
    runbookDir = mkdtempSync(join(tmpdir(), 'keel-oidc-runbooks-'))
    writeFileSync(
      join(runbookDir, 'restart-web.md'),
      '---\ntitle: Restart web\nallowedUsers: [dan, "token:ci"]\n---\n\n## Step: look — Look\n\nCheck the dashboard.\n',
    )
    // carol is an on-call user from keel.yaml `users`, not a login user.
    await writeOncallSections(h.store.db, {
      users: { carol: { name: 'Carol' } },
      teams: {},
      schedules: {},
      escalationPolicies: {},
      routes: {},
    })
    const erin = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: h.as('admin'),
      payload: { id: 'erin', role: 'admin' },
    })
    expect(erin.statusCode).toBe(201)
    app = await buildApi({
      db: h.store.db,
      clock: h.clock,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      runbooks: { paths: [runbookDir], hub: new RunOutputHub() },
      oidc: {
        issuer: provider.issuer,
        clientId: 'keel',
        clientSecret: 'keel-test-secret',
        redirectUrl,
        defaultRole: 'viewer',
        allowHttp: true,
      },
    })
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await h?.close()
    await provider?.close()
    if (runbookDir) rmSync(runbookDir, { recursive: true, force: true })
  })

  /** Logs in through the provider as `account`; returns who Keel says the session is. */
  async function signInAs(account: string): Promise<{ user: string; cookie: string }> {
    accounts.current = account
    const start = await app.inject({ url: '/auth/oidc/login' })
    const flowCookie = String(start.headers['set-cookie']).split(';')[0] as string
    const back = await followToKeel(String(start.headers.location))
    const done = await app.inject({
      url: `/auth/oidc/callback${back.search}`,
      headers: { cookie: flowCookie },
    })
    expect(done.statusCode).toBe(302)
    const session = [done.headers['set-cookie']]
      .flat()
      .map(String)
      .find((c) => c.startsWith('keel_session=')) as string
    const cookie = session.split(';')[0] as string
    const me = await app.inject({ url: '/api/v1/session', headers: { cookie } })
    return { user: me.json().user as string, cookie }
  }

  it.skipIf(kind.skipReason)(
    'never gives a newcomer the id of an on-call user, an allow-listed name or a login user',
    async () => {
      const carol = await signInAs('u-carol')
      expect(carol.user).toMatch(/^carol-[0-9a-f]{6}$/)
      expect(await getUser(h.store.db, 'carol')).toBeUndefined()
      const dan = await signInAs('u-dan')
      expect(dan.user).toMatch(/^dan-[0-9a-f]{6}$/)
      expect(await getUser(h.store.db, 'dan')).toBeUndefined()
      const erin = await signInAs('u-erin')
      expect(erin.user).toMatch(/^erin-[0-9a-f]{6}$/)
      expect(await getUser(h.store.db, 'erin')).toMatchObject({ role: 'admin' })
      expect((await getUser(h.store.db, 'erin'))?.oidcSubject).toBeUndefined()
      // Linked by (issuer, subject): the same person comes back as the same user.
      expect((await signInAs('u-carol')).user).toBe(carol.user)
      const [created] = await listAudit(h.store.db, {
        action: 'user.create',
        objectId: carol.user,
      })
      expect(created?.details).toMatchObject({
        after: { issuer: provider.issuer, subject: 'u-carol' },
        preferredUsername: 'Carol',
      })
    },
  )

  it.skipIf(kind.skipReason)(
    'lets an admin link the identity to the existing user, and unlink it',
    async () => {
      const before = await signInAs('u-carol')
      const made = await h.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: h.as('admin'),
        payload: { id: 'carol', role: 'responder' },
      })
      expect(made.statusCode).toBe(201)
      const identity = { issuer: provider.issuer, subject: 'u-carol' }
      for (const role of ['viewer', 'responder', 'operator'] as const) {
        const refused = await h.app.inject({
          method: 'PUT',
          url: '/api/v1/users/carol/oidc',
          headers: h.as(role),
          payload: identity,
        })
        expect(refused.statusCode).toBe(403)
      }
      const bad = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/users/carol/oidc',
        headers: h.as('admin'),
        payload: { issuer: 'login.example.org', subject: 'u-carol' },
      })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.message).toContain('issuer must be the provider')
      const missing = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/users/nobody/oidc',
        headers: h.as('admin'),
        payload: identity,
      })
      expect(missing.statusCode).toBe(404)

      const linked = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/users/carol/oidc',
        headers: h.as('admin'),
        payload: identity,
      })
      expect(linked.statusCode).toBe(200)
      expect(linked.json()).toMatchObject({ id: 'carol', oidc: identity })
      // The user her first login made lost the link and its sessions (on the other node once its
      // session cache has expired).
      h.clock.advance(sessionCacheMs)
      const stale = await app.inject({ url: '/api/v1/session', headers: { cookie: before.cookie } })
      expect(stale.statusCode).toBe(401)
      expect((await getUser(h.store.db, before.user))?.oidcSubject).toBeUndefined()
      const [event] = await listAudit(h.store.db, { action: 'user.link-oidc', objectId: 'carol' })
      expect(event).toMatchObject({
        actor: 'token:test-admin',
        details: { before: null, after: identity, movedFrom: before.user },
      })
      expect((await signInAs('u-carol')).user).toBe('carol')

      const unlinked = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/users/carol/oidc',
        headers: h.as('admin'),
      })
      expect(unlinked.statusCode).toBe(200)
      expect(unlinked.json().oidc).toBeUndefined()
      expect(
        (await listAudit(h.store.db, { action: 'user.unlink-oidc', objectId: 'carol' })).length,
      ).toBe(1)
      // carol and carol-<6> are both taken now, so the next newcomer gets oidc-<16 hex>.
      expect((await signInAs('u-carol')).user).toMatch(/^oidc-[0-9a-f]{16}$/)
    },
  )
})

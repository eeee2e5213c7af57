import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
// oidc-provider (a dev dependency, the test's identity provider) ships no type declarations.
// @ts-expect-error -- untyped module
import Provider from 'oidc-provider'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listAudit } from '../store/audit.js'
import { getUser, listMemberships, setMemberships } from '../store/auth.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

const redirectUrl = 'http://keel.test/auth/oidc/callback'

/* eslint-disable @typescript-eslint/no-explicit-any -- oidc-provider is untyped */

/** A real OpenID provider on loopback: one client, one account, login finished without a form. */
async function startProvider(): Promise<{ issuer: string; close(): Promise<void> }> {
  const idp: { provider?: any } = {}
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      // Stands in for the login form: the person proves to be account `u-42`.
      void idp.provider.interactionFinished(
        req,
        res,
        { login: { accountId: 'u-42' } },
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
        claims: async () => ({
          sub: id,
          preferred_username: 'Olivia',
          name: 'Olivia Ops',
          email: 'olivia@example.org',
          groups: ['staff', 'keel-operators'],
        }),
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

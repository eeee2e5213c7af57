import { readFileSync } from 'node:fs'
import { ingestRouteUrls } from '../ingest/index.js'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiToken, roleAllows, roles } from '../services/auth.js'
import type { Role } from '../store/auth.js'
import { seedPagedIncident } from '../../test/helpers/paging.js'
import { createSetupLink, createUser } from '../services/users.js'
import { markDelivered } from '../store/notifications.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { errorResponse, installErrorHandling } from './errors.js'
import { installRouteGuard, routeTable, type RouteEntry } from './route-guard.js'

/** A concrete URL for a route pattern, with params that look valid so the handler runs. */
function concreteUrl(url: string): string {
  return url
    .replace(':id', 'no-such-monitor')
    .replace(':token', 'no-such-token')
    .replace(':exitStatus', '0')
}

function requestFor(route: RouteEntry) {
  const withBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH'
  return {
    method: route.method as 'GET',
    url: concreteUrl(route.url),
    ...(withBody ? { payload: {} } : {}),
  }
}

/**
 * Who may call each route, written down by hand (not read from the routes), so a route that
 * declares the wrong role fails here. A new route must be added on purpose.
 */
const expectedRoles = JSON.parse(
  readFileSync(new URL('./route-roles.expected.json', import.meta.url), 'utf8'),
) as Record<string, Role | 'public'>

function expectedRoleOf(route: RouteEntry): Role | 'public' {
  const role = expectedRoles[`${route.method} ${route.url}`]
  if (role === undefined) throw new Error(`${route.method} ${route.url} is not in the table`)
  return role
}

describe.each(apiStoreKinds)('authorization on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)('lists every route the API serves, each with a role', () => {
    const table = routeTable(h.app)
    const keys = table.map((r) => `${r.method} ${r.url}`)
    for (const expected of [
      'GET /healthz',
      'GET /metrics',
      'GET /api/openapi.json',
      'GET /api/v1/status',
      'GET /api/v1/monitors',
      'POST /api/v1/monitors',
      'GET /api/v1/monitors/:id',
      'PUT /api/v1/monitors/:id',
      'DELETE /api/v1/monitors/:id',
      'POST /api/v1/monitors/:id/pause',
      'POST /api/v1/monitors/:id/resume',
      'POST /api/v1/monitors/:id/check',
      'GET /api/v1/monitors/:id/results',
      'GET /api/v1/monitors/:id/history',
      'GET /api/v1/monitors/:id/rollups',
      'GET /api/v1/monitors/:id/pings',
      'GET /api/v1/alerts',
      'GET /api/v1/notifications',
      'GET /api/v1/audit',
      'POST /api/v1/tokens',
      'GET /api/v1/tokens',
      'DELETE /api/v1/tokens/:id',
      'GET /api/v1/users',
      'POST /api/v1/users',
      'PATCH /api/v1/users/:id',
      'POST /api/v1/users/:id/password',
      'DELETE /api/v1/users/:id/sessions',
      'GET /api/v1/sessions',
      'DELETE /api/v1/sessions/:id',
      'POST /api/v1/setup',
      'GET /auth/oidc/login',
      'GET /auth/oidc/callback',
      'GET /api/v1/incidents',
      'GET /api/v1/incidents/:id',
      'GET /api/v1/incidents/:id/postmortem',
      'POST /api/v1/incidents/:id/ack',
      'POST /api/v1/incidents/:id/resolve',
      'POST /api/v1/incidents/:id/reopen',
      'POST /api/v1/incidents/:id/reassign',
      'POST /api/v1/incidents/:id/roles',
      'POST /api/v1/incidents/:id/notes',
      'POST /api/v1/incidents/:id/severity',
      'GET /api/v1/reports/mtta-mttr',
      'GET /api/v1/oncall/now',
      'GET /api/v1/schedules',
      'GET /api/v1/schedules/:id/final',
      'GET /api/v1/schedules/:id/gaps',
      'GET /api/v1/schedules/:id/ical',
      'GET /api/v1/escalation-policies',
      'GET /api/v1/incidents/:id/escalation',
      'GET /api/v1/catalog/:id/impact',
      'GET /api/v1/catalog/:id/diagram.svg',
      'POST /api/v1/catalog',
      'GET /a/:token',
      'POST /a/:token',
      'POST /ping/:token',
      'HEAD /ping/:token/fail',
      'GET /ping/:token/:exitStatus',
    ]) {
      expect(keys).toContain(expected)
    }
    expect(table.filter((r) => r.role === 'public').map((r) => r.url)).toEqual(
      expect.arrayContaining(['/healthz', '/ping/:token']),
    )
    expect(
      table
        .filter((r) => r.role === 'public')
        .every(
          (r) =>
            ingestRouteUrls.includes(r.url) ||
            /^\/(healthz|ping\/|a\/:token$|api\/v1\/schedules\/:id\/ical$|$|login$|monitors\/:id(\/edit)?$|incidents(\/:id)?$|catalog(\/:id)?$|runbooks(\/:name)?$|home(\/:role)?$|oncall$|silences$|maintenance$|assets\/:file$|favicon\.svg$|api\/v1\/session$|setup$|audit$|api\/v1\/setup(\/:token)?$|api\/v1\/auth\/methods$|auth\/oidc\/(login|callback)$|status(\/api\/summary\.json|\/feed\.rss|\/feed\.atom)?$)/.test(
              r.url,
            ),
        ),
    ).toBe(true)
  })

  it.skipIf(kind.skipReason)('serves exactly the routes and roles of the expected table', () => {
    const served = Object.fromEntries(
      routeTable(h.app).map((r) => [`${r.method} ${r.url}`, r.role] as const),
    )
    const problems = [
      ...Object.entries(served)
        .filter(([key]) => !(key in expectedRoles))
        .map(([key, role]) => `${key} (declares ${role}) is not in the table`),
      ...Object.entries(expectedRoles)
        .filter(([key]) => !(key in served))
        .map(([key]) => `${key} is in the table but not served`),
      ...Object.entries(served)
        .filter(([key, role]) => key in expectedRoles && expectedRoles[key] !== role)
        .map(([key, role]) => `${key} declares ${role}, the table says ${expectedRoles[key]}`),
    ]
    expect(
      problems,
      'A route and its role are reviewed on purpose: add the new route (or fix the role) in src/api/route-roles.expected.json, and update docs/security.md if the roles change.',
    ).toEqual([])
  })

  it.skipIf(kind.skipReason)(
    'lets exactly the expected roles through on every route',
    async () => {
      const table = routeTable(h.app)
      expect(table.length).toBeGreaterThan(20)
      const wrong: string[] = []
      for (const route of table) {
        const request = requestFor(route)
        const anonymous = await h.app.inject(request)
        if (ingestRouteUrls.includes(route.url)) {
          // Ingest routes authenticate with an integration key, not a user role: a made-up key
          // (or none) must be refused whoever asks: 401, or 400 where the sender's contract says a
          // missing key is an invalid event (PagerDuty's routing_key). ingest-routes.test.ts
          // covers real keys.
          for (const headers of [{}, h.as('admin')]) {
            const response = await h.app.inject({ ...request, headers })
            if (![400, 401].includes(response.statusCode)) {
              wrong.push(
                `${route.method} ${route.url} with no integration key: ${response.statusCode}`,
              )
            }
          }
          continue
        }
        const wanted = expectedRoleOf(route)
        const expectAnonymous = wanted === 'public' ? 'allowed' : 401
        const got = (status: number) => (status === 401 || status === 403 ? status : 'allowed')
        if (got(anonymous.statusCode) !== expectAnonymous) {
          wrong.push(`${route.method} ${route.url} without a token: ${anonymous.statusCode}`)
        }
        for (const role of roles) {
          const response = await h.app.inject({ ...request, headers: h.as(role) })
          const expected = wanted === 'public' || roleAllows(role, wanted) ? 'allowed' : 403
          if (got(response.statusCode) !== expected) {
            wrong.push(
              `${route.method} ${route.url} as ${role}: ${response.statusCode} (wanted ${expected}) ${response.body.slice(0, 200)}`,
            )
          }
        }
      }
      expect(wrong).toEqual([])
    },
    120_000,
  )

  it.skipIf(kind.skipReason)('refuses unknown, malformed, expired and revoked tokens', async () => {
    const url = '/api/v1/monitors'
    const unknown = await h.app.inject({ url, headers: { authorization: 'Bearer keel_nope' } })
    expect(unknown.statusCode).toBe(401)
    expect(unknown.json().error).toMatchObject({ name: 'AuthenticationError' })
    const basic = await h.app.inject({ url, headers: { authorization: 'Basic dXNlcjpwdw==' } })
    expect(basic.statusCode).toBe(401)
    expect(basic.json().error.message).toContain('Bearer')
    const short = await createApiToken(
      { db: h.store.db, clock: h.clock },
      { name: 'short-lived', role: 'admin', expiresAt: h.clock.now() + 1_000 },
    )
    const before = await h.app.inject({ url, headers: { authorization: `Bearer ${short.token}` } })
    expect(before.statusCode).toBe(200)
    h.clock.advance(1_000)
    const after = await h.app.inject({ url, headers: { authorization: `Bearer ${short.token}` } })
    expect(after.statusCode).toBe(401)
    expect(after.json().error.message).toContain('expired')
  })

  it.skipIf(kind.skipReason)('names the role needed when refusing one', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { name: 'x', role: 'viewer' },
      headers: h.as('operator'),
    })
    expect(response.statusCode).toBe(403)
    expect(response.json().error).toMatchObject({ name: 'NotAllowedError' })
    expect(response.json().error.message).toContain('needs admin')
  })
})

describe('the route guard', () => {
  const deps = { db: undefined as never, clock: { now: () => 0 } }

  it('refuses to register a route that declares no role', () => {
    const app = Fastify()
    installRouteGuard(app, deps)
    expect(() => app.get('/api/v1/secret', async () => 'secret')).toThrow(
      /route GET \/api\/v1\/secret declares no role/,
    )
  })

  it('refuses a route that calls itself public without being on the allow-list', () => {
    const app = Fastify()
    installRouteGuard(app, deps)
    expect(() => app.get('/debug', { config: { role: 'public' } }, async () => 'x')).toThrow(
      /not in publicRoutes/,
    )
  })

  it('refuses an unknown role name', () => {
    const app = Fastify()
    installRouteGuard(app, deps)
    expect(() => app.get('/x', { config: { role: 'superuser' as Role } }, async () => 'x')).toThrow(
      /unknown role "superuser"/,
    )
  })

  it('refuses in a plugin too, so ready() fails and the server does not start', async () => {
    const app = Fastify()
    installRouteGuard(app, deps)
    void app.register(
      async (scope) => {
        scope.post('/things', async () => 'x')
      },
      { prefix: '/api/v1' },
    )
    await expect(app.ready()).rejects.toThrow(/POST \/api\/v1\/things declares no role/)
  })

  it('accepts the allow-listed public routes without a role, and guards implied HEAD routes', async () => {
    const app = Fastify()
    installErrorHandling(app, { bodyLimitBytes: 1024 })
    installRouteGuard(app, deps)
    app.get('/healthz', async () => ({ status: 'ok' }))
    app.get('/api/v1/things', { config: { role: 'operator' } }, async () => [])
    await app.ready()
    expect(routeTable(app)).toEqual([
      { method: 'GET', url: '/healthz', role: 'public' },
      { method: 'HEAD', url: '/healthz', role: 'public' },
      { method: 'GET', url: '/api/v1/things', role: 'operator' },
      { method: 'HEAD', url: '/api/v1/things', role: 'operator' },
    ])
    expect((await app.inject({ method: 'HEAD', url: '/api/v1/things' })).statusCode).toBe(401)
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200)
    await app.close()
  })
})

describe.each(apiStoreKinds)('errors on $name', ({ kind }) => {
  let h: ApiHarness
  const logLines: Record<string, unknown>[] = []
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line))
        done()
      },
    })
    h = await startApiHarness(kind, { bodyLimitBytes: 4096, log: pino({ level: 'info' }, sink) })
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)('answers an unknown route with 404 in the error shape', async () => {
    const response = await h.app.inject({ url: '/api/v1/nothing-here', headers: h.as('admin') })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({
      error: {
        name: 'NotFoundError',
        message: expect.stringContaining('GET /api/v1/nothing-here'),
      },
    })
  })

  it.skipIf(kind.skipReason)('answers malformed JSON with 400', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: { ...h.as('admin'), 'content-type': 'application/json' },
      payload: '{"id": "x", ',
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.name).toBe('InputError')
    expect(response.json().error.message).toContain('not valid JSON')
  })

  it.skipIf(kind.skipReason)(
    'answers a query parameter out of range with 400 naming it',
    async () => {
      const response = await h.app.inject({
        url: '/api/v1/monitors?limit=5000',
        headers: h.as('viewer'),
      })
      expect(response.statusCode).toBe(400)
      expect(response.json().error.message).toBe('query parameter limit must be <= 1000')
      expect(response.json().error.details).toEqual([
        { in: 'querystring', path: 'limit', message: 'must be <= 1000' },
      ])
    },
  )

  it.skipIf(kind.skipReason)('answers a missing body field with 400 naming it', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: h.as('admin'),
      payload: { role: 'viewer' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.message).toBe('body field name is required')
  })

  it.skipIf(kind.skipReason)('answers a body over the limit with 413', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('admin'),
      payload: { id: 'big', type: 'tcp', description: 'x'.repeat(5000) },
    })
    expect(response.statusCode).toBe(413)
    expect(response.json().error.message).toContain('4096 bytes')
  })

  it.skipIf(kind.skipReason)(
    'answers a store failure with a bare 500 and logs its stack once',
    async () => {
      const separate = await startApiHarness(kind, {
        log: pino(
          { level: 'info' },
          new Writable({ write: (c, _e, d) => (logLines.push(JSON.parse(String(c))), d()) }),
        ),
      })
      const headers = separate.as('viewer')
      await separate.breakStore()
      const before = logLines.length
      const response = await separate.app.inject({ url: '/api/v1/monitors', headers })
      expect(response.statusCode).toBe(500)
      expect(response.json().error.name).toBe('InternalError')
      expect(response.json().error.message).toMatch(
        /^internal server error; the server log has the details \(request .+\)$/,
      )
      const errors = logLines.slice(before).filter((l) => l.level === 50)
      expect(errors).toHaveLength(1)
      expect(JSON.stringify(errors[0])).toContain('stack')
      await separate.close()
    },
  )
})

describe('errorResponse', () => {
  it('keeps the message of an unexpected error out of the body', () => {
    const response = errorResponse(new Error('password=hunter2 in connection string'), {
      bodyLimitBytes: 1,
    })
    expect(response.status).toBe(500)
    expect(response.internal).toBe(true)
    expect(JSON.stringify(response.body)).not.toContain('hunter2')
  })
})

describe.each(apiStoreKinds)('credentials a viewer can read on $name', ({ kind }) => {
  const key = new Uint8Array(32).fill(5)
  let h: ApiHarness
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind, { secretKey: key })
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)(
    'no GET route answers a viewer with a signed one-click link or a secret token',
    async () => {
      // A delivered page with one-click links for alice, and a pending setup link for her.
      const deps = { db: h.store.db, clock: h.clock }
      const admin = { name: 'test', role: 'admin' as const }
      await createUser(deps, admin, { id: 'alice', role: 'responder' })
      const setup = await createSetupLink(deps, admin, 'alice')
      const { incidentId, notifications } = await seedPagedIncident({
        ...deps,
        channelUrl: 'http://127.0.0.1:9/pager',
        links: { publicUrl: 'https://keel.example.org', key },
      })
      for (const id of notifications) await markDelivered(h.store.db, id, h.clock.now())
      const secrets = [...Object.values(h.tokens), setup.token]
      // A token is keel_ and 43 base64url characters (metric names are keel_ and lower case).
      const credential =
        /\/a\/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}|keel_(?=[a-z0-9_-]*[A-Z])[A-Za-z0-9_-]{40,}/

      const found: string[] = []
      let answered = 0
      for (const route of routeTable(h.app).filter((r) => r.method === 'GET')) {
        const urls = new Set([
          concreteUrl(route.url),
          concreteUrl(route.url.replace(':id', String(incidentId))),
        ])
        for (const url of urls) {
          const response = await h.app.inject({ method: 'GET', url, headers: h.as('viewer') })
          if (response.statusCode === 200) answered++
          const leak =
            response.body.match(credential)?.[0] ?? secrets.find((t) => response.body.includes(t))
          if (leak !== undefined) found.push(`GET ${url}: ${leak.slice(0, 40)}…`)
        }
      }
      expect(found).toEqual([])
      // The walk reached the routes that list what was seeded.
      expect(answered).toBeGreaterThan(20)
      const outbox = await h.app.inject({
        url: '/api/v1/notifications',
        headers: h.as('viewer'),
      })
      expect(outbox.json().items.map((n: { id: string }) => n.id)).toEqual(
        expect.arrayContaining(notifications),
      )
    },
    120_000,
  )
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { anyJson, mutatedPayloads } from '../ingest/fuzz-harness.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

/** Requests per route: a bounded number in CI, FUZZ_API_RUNS in `npm run fuzz`. */
const runs = Number(process.env.FUZZ_API_RUNS ?? 150)

interface FuzzedRoute {
  name: string
  method: 'POST' | 'PUT' | 'PATCH'
  url: string
  seeds: unknown[]
}

const routes: FuzzedRoute[] = [
  {
    name: 'monitor create',
    method: 'POST',
    url: '/api/v1/monitors',
    seeds: [
      { id: 'web-home', type: 'http', url: 'https://example.org/', interval: '30s' },
      { id: 'db-main', type: 'postgres', host: '127.0.0.1', password: 'x', query: 'select 1' },
      { id: 'nightly', type: 'heartbeat', period: '1d', grace: '1h' },
    ],
  },
  {
    name: 'monitor update',
    method: 'PUT',
    url: '/api/v1/monitors/fuzz-target',
    seeds: [{ type: 'http', url: 'https://example.org/health', interval: '1m', retries: 2 }],
  },
  {
    name: 'token create',
    method: 'POST',
    url: '/api/v1/tokens',
    seeds: [{ name: 'ci', role: 'viewer', expiresAt: '2030-01-01T00:00:00Z' }],
  },
  ...(
    [
      ['note', [{ text: 'restarted the primary' }, { text: 'status page updated', public: true }]],
      ['ack', [{}, { comment: 'looking' }]],
      ['resolve', [{}, { comment: 'fixed' }]],
      ['reopen', [{}]],
      ['severity', [{ severity: 'critical' }, { severity: 'warning' }]],
      ['roles', [{ commander: 'ann' }, { scribe: 'ann', communications: 'ann' }]],
      ['reassign', [{ assignee: 'ann' }]],
    ] as const
  ).map(([action, seeds]): FuzzedRoute => ({
    name: `incident ${action}`,
    method: 'POST',
    // Replaced by the incident the harness opens, so valid bodies get past the 404.
    url: `/api/v1/incidents/:incident/${action === 'note' ? 'notes' : action}`,
    seeds: [...seeds],
  })),
  {
    name: 'silence create',
    method: 'POST',
    url: '/api/v1/silences',
    seeds: [{ matchers: ['service="files"'], duration: '1h', comment: 'swap disk' }],
  },
  {
    name: 'maintenance create',
    method: 'POST',
    url: '/api/v1/maintenance',
    seeds: [
      {
        id: 'db-upgrade',
        title: 'PostgreSQL 17 upgrade',
        matchers: 'service="db-main"',
        timeZone: 'Europe/Berlin',
        oneOff: { start: '2024-05-02T22:00', end: '2024-05-03T01:00' },
        public: true,
      },
    ],
  },
  {
    name: 'user create',
    method: 'POST',
    url: '/api/v1/users',
    seeds: [
      { id: 'alice', role: 'operator', name: 'Alice' },
      { id: 'bo', role: 'viewer' },
    ],
  },
  {
    name: 'user update',
    method: 'PATCH',
    url: '/api/v1/users/fuzz-user',
    seeds: [{ name: 'Fuzz User', role: 'responder' }, { disabled: true }],
  },
  {
    name: 'integration create',
    method: 'POST',
    url: '/api/v1/integrations',
    seeds: [{ id: 'grafana', kind: 'generic', name: 'Grafana', labels: { team: 'web' } }],
  },
  {
    name: 'integration update',
    method: 'PATCH',
    url: '/api/v1/integrations/fuzz-integration',
    seeds: [{ name: 'Renamed', labels: { team: 'db' } }, { disabled: true }],
  },
  {
    name: 'catalog entity create',
    method: 'POST',
    url: '/api/v1/catalog',
    seeds: [{ id: 'db-main', kind: 'database', name: 'Main database', dependsOn: [] }],
  },
  {
    name: 'catalog entity update',
    method: 'PUT',
    url: '/api/v1/catalog/fuzz-entity',
    seeds: [{ kind: 'service', name: 'Fuzz', dependsOn: ['db-main'] }],
  },
  {
    name: 'session login',
    method: 'POST',
    url: '/api/v1/session',
    seeds: [{ token: 'keel_abc' }, { user: 'ann', password: 'secret' }],
  },
]

/** Whether a 4xx body names what was wrong: a field path in its details or its message. */
function namesTheProblem(body: unknown): boolean {
  const error = (body as { error?: { message?: unknown; details?: unknown } }).error
  if (!error || typeof error.message !== 'string' || error.message.trim() === '') return false
  if (Array.isArray(error.details) && error.details.length > 0) {
    return error.details.every(
      (d: { path?: unknown; message?: unknown }) =>
        typeof d.message === 'string' && d.message !== '' && typeof d.path === 'string',
    )
  }
  return error.message.length >= 10
}

const bodies = (seeds: unknown[]) =>
  fc.oneof(
    { weight: 3, arbitrary: mutatedPayloads(seeds).map((p) => JSON.stringify(p) ?? 'null') },
    { weight: 2, arbitrary: anyJson.map((p) => JSON.stringify(p) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
  )

describe.each(apiStoreKinds)('API bodies under fuzzing on $name', ({ kind }) => {
  let h: ApiHarness
  let incidentId = 0
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('admin'),
      payload: { id: 'fuzz-target', type: 'http', url: 'https://example.org/' },
    })
    expect(created.statusCode).toBe(201)
    for (const [url, payload] of [
      ['/api/v1/users', { id: 'fuzz-user', role: 'viewer', name: 'Fuzz' }],
      ['/api/v1/integrations', { id: 'fuzz-integration', kind: 'generic', name: 'Fuzz' }],
      ['/api/v1/catalog', { id: 'fuzz-entity', kind: 'service', name: 'Fuzz' }],
    ] as const) {
      const made = await h.app.inject({ method: 'POST', url, headers: h.as('admin'), payload })
      expect(made.statusCode, `${url}: ${made.body}`).toBe(201)
    }
    const now = h.clock.now()
    const incident = await h.store.db
      .insertInto('incidents')
      .values({
        title: 'fuzz target',
        severity: 'critical',
        status: 'triggered',
        assignee: null,
        roles: '{}',
        service: null,
        team: null,
        group_key: 'fuzz',
        created_at: now,
        acknowledged_at: null,
        resolved_at: null,
        ack_timeout_ms: null,
        ack_timeout_at: null,
        auto_resolve: 0,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    incidentId = incident.id
    const seen = await h.app.inject({
      method: 'GET',
      url: `/api/v1/incidents/${incidentId}`,
      headers: h.as('admin'),
    })
    expect(seen.statusCode, seen.body).toBe(200)
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason).each(routes)(
    '$name never answers 5xx and every 4xx names the problem',
    async (route) => {
      const bad: string[] = []
      const url = route.url.replace(':incident', String(incidentId))
      await fc.assert(
        fc.asyncProperty(bodies(route.seeds), async (payload) => {
          const response = await h.app.inject({
            method: route.method,
            url,
            headers: { ...h.as('admin'), 'content-type': 'application/json' },
            payload,
          })
          expect(response.statusCode, `${route.method} ${url} ${payload}`).toBeLessThan(500)
          if (response.statusCode >= 400 && !namesTheProblem(response.json())) {
            bad.push(`${response.statusCode} ${response.body} for ${payload}`)
          }
        }),
        { numRuns: runs },
      )
      expect(bad.slice(0, 5)).toEqual([])
    },
    600_000,
  )
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { anyJson, mutatedPayloads } from '../ingest/fuzz-harness.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

/** Requests per route: a bounded number in CI, FUZZ_API_RUNS in `npm run fuzz`. */
const runs = Number(process.env.FUZZ_API_RUNS ?? 150)

interface FuzzedRoute {
  name: string
  method: 'POST' | 'PUT'
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
  {
    name: 'incident note',
    method: 'POST',
    url: '/api/v1/incidents/1/notes',
    seeds: [{ text: 'restarted the primary' }],
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
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason).each(routes)(
    '$name never answers 5xx and every 4xx names the problem',
    async (route) => {
      const bad: string[] = []
      await fc.assert(
        fc.asyncProperty(bodies(route.seeds), async (payload) => {
          const response = await h.app.inject({
            method: route.method,
            url: route.url,
            headers: { ...h.as('admin'), 'content-type': 'application/json' },
            payload,
          })
          expect(response.statusCode, `${route.method} ${route.url} ${payload}`).toBeLessThan(500)
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

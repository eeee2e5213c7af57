import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { anyJson, mutatedPayloads } from '../ingest/fuzz-harness.js'
import { executeApply } from '../services/apply.js'
import { RunOutputHub } from '../services/runbooks.js'
import { upsertAlertByFingerprint } from '../store/alerts.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { routeTable } from './route-guard.js'
import { csrfHeader } from './session-routes.js'

/** Requests per route: a bounded number in CI, FUZZ_API_RUNS in `npm run fuzz`. */
const runs = Number(process.env.FUZZ_API_RUNS ?? 150)

/** What a route's preparation can use: the harness and the objects made in `beforeAll`. */
interface Fixture {
  h: ApiHarness
  /** A fresh incident in state `triggered`, or `resolved` when asked. */
  incident(status?: 'triggered' | 'resolved'): Promise<number>
  /** A new run of a runbook of the fuzz folder, requested by the operator token. */
  run(name: 'checklist' | 'dangerous'): Promise<number>
}

interface FuzzedRoute {
  name: string
  method: 'POST' | 'PUT' | 'PATCH'
  /** The route as registered (`routeTable`), for the check that every route is fuzzed. */
  route: string
  /** Makes what the valid body needs and returns the URL; the route itself by default. */
  prepare?: (f: Fixture) => Promise<string>
  /** A body the route accepts (2xx), sent once unmutated before the fuzzing starts. */
  valid: (f: Fixture) => unknown
  /** More starting points for mutations; the valid body is always one. */
  seeds?: unknown[]
  headers?: Record<string, string>
}

const incidentActions: [string, string, (f: Fixture) => Promise<number>, unknown, unknown[]][] = [
  [
    'note',
    'notes',
    (f) => f.incident(),
    { text: 'restarted the primary' },
    [{ text: 'status page updated', public: true }],
  ],
  ['ack', 'ack', (f) => f.incident(), {}, [{ comment: 'looking' }]],
  ['resolve', 'resolve', (f) => f.incident(), { reason: 'fixed' }, [{}]],
  ['reopen', 'reopen', (f) => f.incident('resolved'), { reason: 'came back' }, [{}]],
  [
    'severity',
    'severity',
    (f) => f.incident(),
    { severity: 'warning' },
    [{ severity: 'critical' }],
  ],
  [
    'roles',
    'roles',
    (f) => f.incident(),
    { commander: 'ann' },
    [{ scribe: 'ann', communications: null }],
  ],
  ['reassign', 'reassign', (f) => f.incident(), { to: 'ann' }, []],
]

const routes: FuzzedRoute[] = [
  {
    name: 'monitor create',
    method: 'POST',
    route: '/api/v1/monitors',
    valid: () => ({ id: 'web-home', type: 'http', url: 'https://example.org/', interval: '30s' }),
    seeds: [
      { id: 'db-main', type: 'postgres', host: '127.0.0.1', password: 'x', query: 'select 1' },
      { id: 'nightly', type: 'heartbeat', period: '1d', grace: '1h' },
      // Runs a program: refused, as checks.commandDirs is empty here (see the last test).
      { id: 'own-db', type: 'command', command: '/usr/bin/sqlite3', args: ['keel.db', '.dump'] },
    ],
  },
  {
    name: 'monitor update',
    method: 'PUT',
    route: '/api/v1/monitors/:id',
    prepare: async () => '/api/v1/monitors/fuzz-target',
    valid: () => ({ type: 'http', url: 'https://example.org/health', interval: '1m', retries: 2 }),
    seeds: [{ type: 'command', command: '/bin/sh', args: ['-c', 'id'], env: { LD_PRELOAD: 'x' } }],
  },
  ...(['pause', 'resume'] as const).map((action): FuzzedRoute => ({
    name: `monitor ${action}`,
    method: 'POST',
    route: `/api/v1/monitors/:id/${action}`,
    prepare: async () => `/api/v1/monitors/fuzz-target/${action}`,
    valid: () => ({}),
  })),
  {
    name: 'monitor check now',
    method: 'POST',
    route: '/api/v1/monitors/:id/check',
    // A TCP probe of a closed loopback port answers `down` at once, without the network.
    prepare: async () => '/api/v1/monitors/fuzz-tcp/check',
    valid: () => ({}),
  },
  {
    name: 'token create',
    method: 'POST',
    route: '/api/v1/tokens',
    valid: () => ({ name: 'ci', role: 'viewer', expiresAt: '2030-01-01T00:00:00Z' }),
  },
  ...incidentActions.map(([action, path, incident, valid, seeds]): FuzzedRoute => ({
    name: `incident ${action}`,
    method: 'POST',
    route: `/api/v1/incidents/:id/${path}`,
    // Each route gets an incident in the state its valid body needs (reopen: resolved).
    prepare: async (f) => `/api/v1/incidents/${await incident(f)}/${path}`,
    valid: () => valid,
    seeds,
  })),
  {
    name: 'alert silence',
    method: 'POST',
    route: '/api/v1/alerts/:fingerprint/silence',
    prepare: async () => `/api/v1/alerts/${fingerprint(fuzzAlertLabels)}/silence`,
    valid: () => ({ duration: '1h', comment: 'swap disk' }),
    seeds: [{}],
  },
  {
    name: 'silence create',
    method: 'POST',
    route: '/api/v1/silences',
    valid: () => ({ matchers: ['service="files"'], duration: '1h', comment: 'swap disk' }),
  },
  {
    name: 'maintenance create',
    method: 'POST',
    route: '/api/v1/maintenance',
    valid: () => ({
      id: 'db-upgrade',
      title: 'PostgreSQL 17 upgrade',
      matchers: 'service="db-main"',
      timeZone: 'Europe/Berlin',
      oneOff: { start: '2024-05-02T22:00', end: '2024-05-03T01:00' },
      public: true,
    }),
  },
  {
    name: 'schedule override create',
    method: 'POST',
    route: '/api/v1/schedules/:id/overrides',
    prepare: async () => '/api/v1/schedules/primary/overrides',
    valid: ({ h }) => ({
      user: 'bob',
      start: new Date(h.clock.now()).toISOString(),
      end: new Date(h.clock.now() + 3_600_000).toISOString(),
      note: 'swapped with Ann',
    }),
  },
  {
    name: 'user create',
    method: 'POST',
    route: '/api/v1/users',
    valid: () => ({ id: 'alice', role: 'operator', name: 'Alice' }),
    seeds: [{ id: 'bo', role: 'viewer' }],
  },
  {
    name: 'user update',
    method: 'PATCH',
    route: '/api/v1/users/:id',
    prepare: async () => '/api/v1/users/fuzz-user',
    valid: () => ({ name: 'Fuzz User', role: 'responder' }),
    seeds: [{ disabled: true }],
  },
  {
    name: 'user password',
    method: 'POST',
    route: '/api/v1/users/:id/password',
    prepare: async () => '/api/v1/users/fuzz-user/password',
    valid: () => ({ password: 'correct horse battery staple' }),
  },
  {
    name: 'user setup link',
    method: 'POST',
    route: '/api/v1/users/:id/setup-link',
    prepare: async () => '/api/v1/users/fuzz-user/setup-link',
    valid: () => ({}),
  },
  {
    name: 'user OIDC link',
    method: 'PUT',
    route: '/api/v1/users/:id/oidc',
    prepare: async () => '/api/v1/users/fuzz-user/oidc',
    valid: () => ({ issuer: 'https://login.example.org/realms/ops', subject: 'fuzz-subject' }),
    seeds: [{ issuer: 'http://127.0.0.1:9/', subject: 'x'.repeat(255) }],
  },
  {
    name: 'password setup',
    method: 'POST',
    route: '/api/v1/setup',
    valid: async ({ h }) => {
      const link = await h.app.inject({
        method: 'POST',
        url: '/api/v1/users/fuzz-setup/setup-link',
        headers: h.as('admin'),
      })
      expect(link.statusCode, link.body).toBe(201)
      const token = (link.json() as { url: string }).url.split('#')[1]
      return { token, password: 'correct horse battery staple' }
    },
  },
  {
    name: 'integration create',
    method: 'POST',
    route: '/api/v1/integrations',
    valid: () => ({ id: 'grafana', kind: 'generic', name: 'Grafana', labels: { team: 'web' } }),
  },
  {
    name: 'integration update',
    method: 'PATCH',
    route: '/api/v1/integrations/:id',
    prepare: async () => '/api/v1/integrations/fuzz-integration',
    valid: () => ({ name: 'Renamed', labels: { team: 'db' } }),
    seeds: [{ disabled: true }, { publicStatus: true }],
  },
  {
    name: 'integration key rotation',
    method: 'POST',
    route: '/api/v1/integrations/:id/rotate-key',
    prepare: async () => '/api/v1/integrations/fuzz-integration/rotate-key',
    valid: () => ({}),
  },
  {
    name: 'catalog entity create',
    method: 'POST',
    route: '/api/v1/catalog',
    valid: () => ({ id: 'db-main', kind: 'database', name: 'Main database', dependsOn: [] }),
    seeds: [
      { id: 'constructor', kind: 'host' },
      { id: 'wiki', kind: 'host', links: [{ title: 'x', url: 'javascript:alert(1)' }] },
    ],
  },
  {
    name: 'catalog entity update',
    method: 'PUT',
    route: '/api/v1/catalog/:id',
    prepare: async () => '/api/v1/catalog/fuzz-entity',
    valid: () => ({ kind: 'service', name: 'Fuzz', dependsOn: ['db-main'] }),
  },
  {
    name: 'runbook run start',
    method: 'POST',
    route: '/api/v1/runbooks/:name/runs',
    prepare: async () => '/api/v1/runbooks/checklist/runs',
    valid: () => ({ params: { TICKET: 'OPS-1' } }),
    seeds: [{ params: { TICKET: 'OPS-2' }, dryRun: true }],
  },
  {
    name: 'runbook run approve',
    method: 'POST',
    route: '/api/v1/runbook-runs/:id/approve',
    // Requested by the operator token, approved by the admin one: a second person.
    prepare: async (f) => `/api/v1/runbook-runs/${await f.run('dangerous')}/approve`,
    valid: () => ({}),
  },
  {
    name: 'runbook run step',
    method: 'POST',
    route: '/api/v1/runbook-runs/:id/steps/:step',
    prepare: async (f) => `/api/v1/runbook-runs/${await f.run('checklist')}/steps/look`,
    valid: () => ({ note: 'disk at 40%' }),
    seeds: [{ answer: 1 }],
  },
  {
    name: 'runbook run cancel',
    method: 'POST',
    route: '/api/v1/runbook-runs/:id/cancel',
    prepare: async (f) => `/api/v1/runbook-runs/${await f.run('checklist')}/cancel`,
    valid: () => ({ reason: 'not needed after all' }),
  },
  {
    name: 'runbook run resume',
    method: 'POST',
    route: '/api/v1/runbook-runs/:id/resume',
    // A run as a dead node leaves it (the recovery itself is tested in services/runbooks).
    prepare: async (f) => {
      const id = await f.run('checklist')
      await f.h.store.db
        .updateTable('runbook_runs')
        .set({ status: 'interrupted' })
        .where('id', '=', id)
        .execute()
      return `/api/v1/runbook-runs/${id}/resume`
    },
    valid: () => ({ from: 'retry' }),
    seeds: [{ from: 'next' }, {}],
  },
  {
    name: 'session login',
    method: 'POST',
    route: '/api/v1/session',
    // A browser sends the CSRF header with every login; without it every body is refused early.
    headers: { [csrfHeader]: '1' },
    valid: ({ h }) => ({ token: h.tokens.viewer }),
    seeds: [{ token: 'keel_abc' }, { user: 'ann', password: 'secret' }],
  },
]

/**
 * Routes that take a body but are fuzzed elsewhere, with the reason. Every other POST, PUT and
 * PATCH route must be in `routes`, so a new route cannot go unfuzzed by accident.
 */
const fuzzedElsewhere: Record<string, string> = {
  'POST /api/v2/alerts': 'an ingest endpoint: src/ingest/*.fuzz.test.ts',
  'POST /v2/enqueue': 'an ingest endpoint: src/ingest/*.fuzz.test.ts',
  'POST /a/:token': 'takes no body; the signed token in the path is tested in its own suite',
}
const fuzzedByPrefix = ['/ingest/', '/ping/']

const fuzzAlertLabels = { alertname: 'FuzzDiskFull', service: 'files' }

const checklistRunbook = `---
title: Fuzz checklist
parameters: [{ name: TICKET, required: true, pattern: 'OPS-[0-9]+' }]
---
## Step: look — Look at the disk
- [ ] df -h
## Step: after — Say what you found
- [ ] note it
`

const dangerousRunbook = `---
title: Fuzz dangerous
---
## Step: restart — Restart nothing
\`\`\`keel-command
run: "true"
dangerous: true
\`\`\`
`

const oncall = {
  users: { ann: { name: 'Ann', channels: [] }, bob: { name: 'Bob', channels: [] } },
  teams: { dba: { members: ['ann', 'bob'] } },
  schedules: {
    primary: {
      timeZone: 'UTC',
      team: 'dba',
      layers: [
        {
          id: 'weekly',
          users: ['ann', 'bob'],
          start: '2024-04-29T00:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
    },
  },
  escalationPolicies: {},
  routes: {},
}

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
  let fixture: Fixture
  let runbookDir = ''
  /** 2xx answers per route over the whole run, the valid body included. */
  const succeeded = new Map<string, number>()
  beforeAll(async () => {
    if (kind.skipReason) return
    runbookDir = mkdtempSync(join(tmpdir(), 'keel-fuzz-runbooks-'))
    writeFileSync(join(runbookDir, 'checklist.md'), checklistRunbook)
    writeFileSync(join(runbookDir, 'dangerous.md'), dangerousRunbook)
    h = await startApiHarness(kind, {
      runbooks: { paths: [runbookDir], hub: new RunOutputHub(), cwd: runbookDir },
      secretKey: new Uint8Array(32).fill(7),
    })
    await executeApply(
      { db: h.store.db, clock: h.clock, actor: { name: 'test', role: 'admin' } },
      {
        monitors: {},
        channels: {},
        sources: { monitors: {}, channels: {} },
        settings: { defaultChannels: [] },
        oncall,
      },
    )
    for (const [url, payload] of [
      ['/api/v1/monitors', { id: 'fuzz-target', type: 'http', url: 'https://example.org/' }],
      ['/api/v1/monitors', { id: 'fuzz-tcp', type: 'tcp', host: '127.0.0.1', port: 9 }],
      ['/api/v1/users', { id: 'fuzz-user', role: 'viewer', name: 'Fuzz' }],
      ['/api/v1/users', { id: 'fuzz-setup', role: 'viewer', name: 'Fuzz setup' }],
      ['/api/v1/integrations', { id: 'fuzz-integration', kind: 'generic', name: 'Fuzz' }],
      ['/api/v1/catalog', { id: 'fuzz-entity', kind: 'service', name: 'Fuzz' }],
    ] as const) {
      const made = await h.app.inject({ method: 'POST', url, headers: h.as('admin'), payload })
      expect(made.statusCode, `${url}: ${made.body}`).toBe(201)
    }
    await upsertAlertByFingerprint(h.store.db, {
      fingerprint: fingerprint(fuzzAlertLabels),
      labels: fuzzAlertLabels,
      annotations: {},
      status: 'firing',
      at: h.clock.now(),
      source: 'test',
    })
    fixture = {
      h,
      async incident(status = 'triggered') {
        const now = h.clock.now()
        const incident = await h.store.db
          .insertInto('incidents')
          .values({
            title: 'fuzz target',
            severity: 'critical',
            status,
            assignee: null,
            roles: '{}',
            service: null,
            team: null,
            group_key: `fuzz-${randomUUID()}`,
            created_at: now,
            acknowledged_at: null,
            resolved_at: status === 'resolved' ? now : null,
            ack_timeout_ms: null,
            ack_timeout_at: null,
            auto_resolve: 0,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        return incident.id
      },
      async run(name) {
        const started = await h.app.inject({
          method: 'POST',
          url: `/api/v1/runbooks/${name}/runs`,
          headers: h.as('operator'),
          payload: name === 'checklist' ? { params: { TICKET: 'OPS-7' } } : {},
        })
        expect(started.statusCode, started.body).toBe(201)
        return (started.json() as { id: number }).id
      },
    }
  }, 60_000)
  afterAll(async () => {
    if (kind.skipReason) return
    if (succeeded.size > 0) {
      console.info(
        `2xx per route on ${kind.name} (${runs} fuzzed bodies each, plus the valid one):\n` +
          [...succeeded].map(([name, n]) => `  ${name}: ${n}`).join('\n'),
      )
    }
    await h?.close()
    rmSync(runbookDir, { recursive: true, force: true })
  })

  it.skipIf(kind.skipReason)('every route that takes a body has a valid seed here', () => {
    const covered = new Set(routes.map((r) => `${r.method} ${r.route}`))
    const missing = routeTable(h.app)
      .filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))
      .map((r) => `${r.method} ${r.url}`)
      .filter((key) => !covered.has(key) && fuzzedElsewhere[key] === undefined)
      .filter((key) => !fuzzedByPrefix.some((p) => key.split(' ')[1]?.startsWith(p)))
    expect(
      missing,
      `add a valid seed to routes in src/api/api-bodies.fuzz.test.ts for: ${missing.join(', ')}`,
    ).toEqual([])
  })

  it.skipIf(kind.skipReason).each(routes)(
    '$name accepts its valid body, never answers 5xx, and every 4xx names the problem',
    async (route) => {
      const url = route.prepare ? await route.prepare(fixture) : route.route
      const headers = {
        ...h.as('admin'),
        'content-type': 'application/json',
        ...route.headers,
      }
      const valid = await route.valid(fixture)
      const first = await h.app.inject({
        method: route.method,
        url,
        headers,
        payload: JSON.stringify(valid),
      })
      expect(
        first.statusCode,
        `${route.method} ${url} with its valid body ${JSON.stringify(valid)}: ${first.body}`,
      ).toBeGreaterThanOrEqual(200)
      expect(first.statusCode, `${route.method} ${url}: ${first.body}`).toBeLessThan(300)
      let ok = 1
      const bad: string[] = []
      await fc.assert(
        fc.asyncProperty(bodies([valid, ...(route.seeds ?? [])]), async (payload) => {
          const response = await h.app.inject({ method: route.method, url, headers, payload })
          expect(response.statusCode, `${route.method} ${url} ${payload}`).toBeLessThan(500)
          if (response.statusCode < 300) ok++
          if (response.statusCode >= 400 && !namesTheProblem(response.json())) {
            bad.push(`${response.statusCode} ${response.body} for ${payload}`)
          }
        }),
        { numRuns: runs },
      )
      succeeded.set(route.name, ok)
      expect(bad.slice(0, 5)).toEqual([])
    },
    // Password routes hash each accepted body with scrypt: allow about a second per body.
    Math.max(600_000, runs * 1_000),
  )

  it.skipIf(kind.skipReason)(
    'stored no monitor that runs a program from any fuzzed body',
    async () => {
      const stored = await h.store.db.selectFrom('monitors').select(['slug', 'type']).execute()
      expect(stored.filter((m) => m.type === 'command')).toEqual([])
    },
  )
})

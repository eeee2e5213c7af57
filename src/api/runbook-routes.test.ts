import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshLocation, storeKinds } from '../../test/helpers/stores.js'
import { fingerprint } from '../core/alerts/index.js'
import { createApiToken } from '../services/auth.js'
import { RunOutputHub } from '../services/runbooks.js'
import { upsertAlertByFingerprint } from '../store/alerts.js'
import { openStore, type Store } from '../store/dialect.js'
import type { Role } from '../store/auth.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

const restart = `---
title: Restart the payment worker
roles: [sre]
entities: [service:payments]
alerts: ['alertname="WorkerStuck", service="payments"']
parameters: [{ name: WORKER, type: enum, values: [a, b], default: a }]
---
Restarts **one** worker.

## Step: restart — Restart it
\`\`\`keel-command
run: echo "restarting $WORKER"
dangerous: true
\`\`\`
`

describe.each(storeKinds)('runbook API on $name', (kind) => {
  let app: FastifyInstance
  let store: Store
  let drop: () => Promise<void>
  let dir: string
  const tokens: Record<string, string> = {}
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` })
  const clock = { now: () => Date.UTC(2026, 11, 6, 4) }

  beforeAll(async () => {
    if (kind.skipReason) return
    const fresh = await freshLocation(kind.name)
    drop = fresh.drop
    store = await openStore(fresh.location)
    dir = mkdtempSync(join(tmpdir(), 'keel-runbook-api-'))
    writeFileSync(join(dir, 'restart-worker.md'), restart)
    writeFileSync(join(dir, 'broken.md'), '# no front matter\n')
    const metrics = createMetrics()
    app = await buildApi({
      db: store.db,
      clock,
      log: pino({ level: 'silent' }),
      metrics,
      runbooks: { paths: [dir], hub: new RunOutputHub() },
    })
    const people: [string, Role][] = [
      ['viewer', 'viewer'],
      ['alice', 'responder'],
      ['bob', 'responder'],
      ['olga', 'operator'],
    ]
    for (const [name, role] of people) {
      tokens[name] = (await createApiToken({ db: store.db, clock }, { name, role })).token
    }
  }, 60_000)
  afterAll(async () => {
    if (kind.skipReason) return
    await app.close()
    await store.close()
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it.skipIf(kind.skipReason)(
    'lists runbooks by alert labels and reports broken files',
    async () => {
      const all = await app.inject({ url: '/api/v1/runbooks', headers: as('viewer') })
      expect(all.statusCode).toBe(200)
      expect(all.json().runbooks.map((r: { name: string }) => r.name)).toEqual(['restart-worker'])
      expect(all.json().issues[0].message).toContain('no front matter')
      const matching = await app.inject({
        url: '/api/v1/runbooks?label=alertname=WorkerStuck&label=service=payments',
        headers: as('viewer'),
      })
      expect(matching.json().runbooks).toHaveLength(1)
      const other = await app.inject({
        url: '/api/v1/runbooks?label=alertname=WorkerStuck&label=service=search',
        headers: as('viewer'),
      })
      expect(other.json().runbooks).toHaveLength(0)
      const bad = await app.inject({ url: '/api/v1/runbooks?label=oops', headers: as('viewer') })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.message).toContain('label')
    },
  )

  it.skipIf(kind.skipReason)(
    'finds a runbook written for service:payments by the catalog id payments',
    async () => {
      const names = async (entity: string) =>
        (
          await app.inject({
            url: `/api/v1/runbooks?entity=${encodeURIComponent(entity)}`,
            headers: as('viewer'),
          })
        )
          .json()
          .runbooks.map((r: { name: string }) => r.name)
      expect(await names('payments')).toEqual(['restart-worker'])
      expect(await names('service:payments')).toEqual(['restart-worker'])
      expect(await names('database:payments')).toEqual([])
      expect(await names('search')).toEqual([])
    },
  )

  it.skipIf(kind.skipReason)("shows an alert's runbooks as its response procedure", async () => {
    const labels = { alertname: 'WorkerStuck', service: 'payments' }
    await upsertAlertByFingerprint(store.db, {
      fingerprint: fingerprint(labels),
      labels,
      annotations: {},
      status: 'firing',
      at: clock.now(),
      source: 'test',
    })
    const response = await app.inject({
      url: `/api/v1/alerts/${fingerprint(labels)}/runbooks`,
      headers: as('viewer'),
    })
    expect(response.statusCode).toBe(200)
    expect(response.json().map((r: { name: string }) => r.name)).toEqual(['restart-worker'])
  })

  it.skipIf(kind.skipReason)(
    "lists a monitor's runbooks: its alert's, its entity's and the one it names",
    async () => {
      const runbook = (title: string, front: string) =>
        `---\ntitle: ${title}\n${front}\n---\nWhat to do.\n\n## Step: look — Look\nLook at it.\n`
      const files = {
        'api-down.md': runbook(
          'API down',
          `alerts: ['alertname="MonitorUnhealthy", monitor="pay-api"']`,
        ),
        'api-slow.md': runbook('API slow', `alerts: ['monitor="pay-api", severity="warning"']`),
        'named.md': runbook('Named by the monitor', 'roles: [support]'),
        'other.md': runbook('Another monitor', `alerts: ['monitor="search"']`),
      }
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
      try {
        const created = await app.inject({
          method: 'POST',
          url: '/api/v1/monitors',
          headers: as('olga'),
          payload: {
            id: 'pay-api',
            type: 'tcp',
            host: '127.0.0.1',
            port: 9,
            paused: true,
            runbook: 'named',
            labels: { service: 'payments' },
          },
        })
        expect(created.statusCode).toBe(201)
        const forMonitor = async (query: string) =>
          app.inject({ url: `/api/v1/runbooks?${query}`, headers: as('viewer') })
        const listed = await forMonitor('monitor=pay-api')
        expect(listed.statusCode).toBe(200)
        expect(
          listed
            .json()
            .runbooks.map((r: { name: string; matchedBy: string[] }) => [r.name, r.matchedBy]),
        ).toEqual([
          ['api-down', ['alert']],
          ['api-slow', ['alert']],
          ['named', ['monitor']],
          ['restart-worker', ['entity']],
        ])
        const narrowed = await forMonitor('monitor=pay-api&role=sre')
        expect(narrowed.json().runbooks.map((r: { name: string }) => r.name)).toEqual([
          'restart-worker',
        ])
        const missing = await forMonitor('monitor=nope')
        expect(missing.statusCode).toBe(404)
        expect(missing.json().error.message).toContain('monitor nope')
      } finally {
        for (const file of Object.keys(files)) rmSync(join(dir, file))
        await app.inject({ method: 'DELETE', url: '/api/v1/monitors/pay-api', headers: as('olga') })
      }
    },
  )

  it.skipIf(kind.skipReason)('renders the document and its steps', async () => {
    const response = await app.inject({
      url: '/api/v1/runbooks/restart-worker',
      headers: as('viewer'),
    })
    expect(response.statusCode).toBe(200)
    expect(response.json().html).toContain('<strong>one</strong>')
    expect(response.json().stepList[0]).toMatchObject({
      id: 'restart',
      kind: 'command',
      dangerous: true,
    })
    const missing = await app.inject({ url: '/api/v1/runbooks/nope', headers: as('viewer') })
    expect(missing.statusCode).toBe(404)
  })

  it.skipIf(kind.skipReason)(
    'needs a second person with the approve role: the requester cannot approve, an operator can',
    async () => {
      const url = '/api/v1/runbooks/restart-worker/runs'
      const viewer = await app.inject({ method: 'POST', url, headers: as('viewer'), payload: {} })
      expect(viewer.statusCode).toBe(403)
      const badParam = await app.inject({
        method: 'POST',
        url,
        headers: as('alice'),
        payload: { params: { WORKER: 'c' } },
      })
      expect(badParam.statusCode).toBe(400)
      expect(badParam.json().error.message).toContain('WORKER must be one of a, b')
      const dry = await app.inject({
        method: 'POST',
        url,
        headers: as('alice'),
        payload: { params: { WORKER: 'b' }, dryRun: true },
      })
      expect(dry.statusCode).toBe(200)
      expect(dry.json().steps[0].command.env).toEqual({ WORKER: 'b', KEEL_PARAM_WORKER: 'b' })

      const started = await app.inject({
        method: 'POST',
        url,
        headers: as('alice'),
        payload: { params: { WORKER: 'b' } },
      })
      expect(started.statusCode).toBe(201)
      const run = started.json()
      expect(run).toMatchObject({ status: 'pendingApproval', requestedBy: 'token:alice' })
      const approve = `/api/v1/runbook-runs/${run.id}/approve`
      const self = await app.inject({ method: 'POST', url: approve, headers: as('alice') })
      expect(self.statusCode).toBe(403)
      expect(self.json().error.message).toContain('cannot approve it')
      const peer = await app.inject({ method: 'POST', url: approve, headers: as('bob') })
      expect(peer.statusCode).toBe(403)
      expect(peer.json().error.message).toContain('needs role operator')
      const operator = await app.inject({ method: 'POST', url: approve, headers: as('olga') })
      expect(operator.statusCode).toBe(200)
      expect(operator.json()).toMatchObject({ approvedBy: 'token:olga' })
      const again = await app.inject({ method: 'POST', url: approve, headers: as('olga') })
      expect(again.statusCode).toBe(409)

      let detail = await app.inject({
        url: `/api/v1/runbook-runs/${run.id}`,
        headers: as('viewer'),
      })
      for (let i = 0; i < 200 && detail.json().status === 'running'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
        detail = await app.inject({ url: `/api/v1/runbook-runs/${run.id}`, headers: as('viewer') })
      }
      expect(detail.json()).toMatchObject({ status: 'succeeded', approvedBy: 'token:olga' })
      expect(detail.json().steps[0]).toMatchObject({
        stepId: 'restart',
        exitCode: 0,
        output: 'restarting b\n',
      })

      const stream = await app.inject({
        url: `/api/v1/runbook-runs/${run.id}/output`,
        headers: as('viewer'),
      })
      expect(stream.headers['content-type']).toContain('text/event-stream')
      expect(stream.body).toContain('event: snapshot')
      expect(stream.body).toContain('event: end')
    },
  )
})

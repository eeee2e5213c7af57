import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { openIncident } from '../core/incidents/index.js'
import { runEscalationStep, startEscalation } from '../engine/escalator.js'
import { executeApply } from '../services/apply.js'
import { createApiToken } from '../services/auth.js'
import { listAudit } from '../store/audit.js'
import type { Store } from '../store/dialect.js'
import { claimDueEscalationSteps } from '../store/escalations.js'
import { insertIncident } from '../store/incidents.js'
import { testClock, type TestClock } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

// Overrides made through the API: an operator swaps a shift without editing keel.yaml, and the
// swap counts everywhere "who is on call" is asked, the pages of an escalation included.

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0) // a Monday, 12:00 UTC
const hour = 3_600_000

const oncall = {
  users: { ann: { name: 'Ann', channels: ['pager'] }, bob: { name: 'Bob', channels: ['pager'] } },
  teams: { dba: { members: ['ann', 'bob'] } },
  schedules: {
    primary: {
      timeZone: 'UTC',
      team: 'dba',
      layers: [
        {
          id: 'weekly',
          users: ['ann', 'bob'],
          start: '2026-11-23T00:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
    },
    web: {
      timeZone: 'UTC',
      team: 'web',
      layers: [
        {
          id: 'all',
          users: ['ann'],
          start: '2026-11-23T00:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
    },
  },
  escalationPolicies: { dba: { levels: [{ targets: [{ schedule: 'primary' }] }] } },
  routes: {},
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`schedule overrides on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let app: FastifyInstance
    let clock: TestClock
    const auth: Record<string, { authorization: string }> = {}

    const nowOnCall = async (schedule: string) => {
      const response = await app.inject({ url: '/api/v1/oncall/now', headers: auth.viewer })
      const entry = (
        response.json() as { schedules: { schedule: string; user?: string; source?: string }[] }
      ).schedules.find((s) => s.schedule === schedule)
      return { user: entry?.user, source: entry?.source }
    }
    const create = (body: unknown, as = 'operator', schedule = 'primary') =>
      app.inject({
        method: 'POST',
        url: `/api/v1/schedules/${schedule}/overrides`,
        headers: auth[as],
        payload: body as object,
      })

    beforeAll(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      clock = testClock(t0)
      await executeApply(
        { db: store.db, clock, actor: { name: 'test', role: 'admin' } },
        {
          monitors: {},
          channels: { pager: { type: 'webhook', url: 'http://127.0.0.1:9/' } },
          sources: { monitors: {}, channels: { pager: 'keel.yaml' } },
          settings: { defaultChannels: [] },
          oncall,
        },
      )
      app = await buildApi({
        db: store.db,
        clock,
        log: pino({ level: 'silent' }),
        metrics: createMetrics(),
        secretKey: new Uint8Array(32).fill(4),
      })
      for (const [name, role, team] of [
        ['viewer', 'viewer', undefined],
        ['responder', 'responder', undefined],
        ['operator', 'operator', undefined],
        ['dbaOperator', 'operator', 'dba'],
      ] as const) {
        const token = await createApiToken(
          { db: store.db, clock },
          { name, role, ...(team ? { team } : {}) },
        )
        auth[name] = { authorization: `Bearer ${token.token}` }
      }
    }, 60_000)
    afterAll(async () => {
      await app?.close()
      await cleanup?.()
    })

    it('puts someone else on call, in "now", the final schedule, and the audit trail', async () => {
      expect(await nowOnCall('primary')).toEqual({ user: 'ann', source: 'layer' })
      const response = await create({
        user: 'bob',
        start: new Date(t0 - hour).toISOString(),
        end: new Date(t0 + 6 * hour).toISOString(),
        note: 'swapped with Ann',
      })
      expect(response.statusCode).toBe(201)
      const override = response.json() as { id: string; user: string; name: string }
      expect(override).toMatchObject({
        scheduleId: 'primary',
        user: 'bob',
        name: 'Bob',
        start: t0 - hour,
        end: t0 + 6 * hour,
        note: 'swapped with Ann',
        createdBy: 'token:operator',
      })
      expect(await nowOnCall('primary')).toEqual({ user: 'bob', source: 'override' })

      const final = await app.inject({
        url: `/api/v1/schedules/primary/final?from=${t0}&to=${t0 + 12 * hour}`,
        headers: auth.viewer,
      })
      expect(
        (final.json() as { spans: { start: number; end: number; user: string; source: string }[] })
          .spans,
      ).toEqual([
        { start: t0, end: t0 + 6 * hour, user: 'bob', name: 'Bob', source: 'override' },
        {
          start: t0 + 6 * hour,
          end: t0 + 12 * hour,
          user: 'ann',
          name: 'Ann',
          source: 'layer',
          layer: 'weekly',
        },
      ])

      const listed = await app.inject({
        url: '/api/v1/schedules/primary/overrides',
        headers: auth.viewer,
      })
      expect((listed.json() as { items: { id: string }[] }).items.map((o) => o.id)).toEqual([
        override.id,
      ])
      const audit = await listAudit(store.db, { action: 'schedule.override.create' })
      expect(audit).toHaveLength(1)
      expect(audit[0]).toMatchObject({ actor: 'token:operator', objectType: 'schedule' })
      expect(audit[0]?.objectId).toBe('primary')
      expect(JSON.stringify(audit[0]?.details)).toContain('"user":"bob"')

      // Removing it hands the shift back, and is audited too.
      const removed = await app.inject({
        method: 'DELETE',
        url: `/api/v1/schedules/primary/overrides/${override.id}`,
        headers: auth.operator,
      })
      expect(removed.statusCode).toBe(204)
      expect(await nowOnCall('primary')).toEqual({ user: 'ann', source: 'layer' })
      expect(await listAudit(store.db, { action: 'schedule.override.delete' })).toHaveLength(1)
      const again = await app.inject({
        method: 'DELETE',
        url: `/api/v1/schedules/primary/overrides/${override.id}`,
        headers: auth.operator,
      })
      expect(again.statusCode).toBe(404)
    })

    it('lists each schedule with its team and the users of its layers, for the override form', async () => {
      const response = await app.inject({ url: '/api/v1/schedules', headers: auth.viewer })
      const items = (response.json() as { items: { id: string }[] }).items
      expect(items[0]).toMatchObject({
        id: 'primary',
        team: 'dba',
        users: [
          { id: 'ann', name: 'Ann' },
          { id: 'bob', name: 'Bob' },
        ],
      })
    })

    it('pages the person who took the shift', async () => {
      const made = await create({ user: 'bob', start: t0, end: t0 + hour })
      expect(made.statusCode).toBe(201)
      const { incident: draft } = openIncident(
        { title: 'db down', severity: 'critical', groupKey: `g-${kind.name}`, service: 'db' },
        t0,
      )
      const stored = await insertIncident(store.db, draft, t0)
      await store.db
        .transaction()
        .execute((trx) => startEscalation(trx, stored as never, 'dba', t0))
      const claimed = await claimDueEscalationSteps(store.db, 'node-a', t0, 60_000, 10)
      expect(claimed).toHaveLength(1)
      const result = await runEscalationStep(store.db, claimed[0] as never, {
        owner: 'node-a',
        now: t0,
      })
      expect(result.kind).toBe('paged')
      if (result.kind === 'paged') expect(result.outcome.users).toEqual(['bob'])
      await app.inject({
        method: 'DELETE',
        url: `/api/v1/schedules/primary/overrides/${(made.json() as { id: string }).id}`,
        headers: auth.operator,
      })
    })

    it.each([
      { body: { start: t0, end: t0 + hour }, field: 'user' },
      {
        body: { user: 'carol', start: t0, end: t0 + hour },
        field: 'user',
        text: 'users: ann, bob',
      },
      { body: { user: 'bob', start: '2026-11-23T12:00', end: t0 + hour }, field: 'start' },
      { body: { user: 'bob', start: t0, end: t0 - hour }, field: 'end' },
      { body: { user: 'bob', start: t0 - 3 * hour, end: t0 - hour }, field: 'end', text: 'past' },
      { body: { user: 'bob', start: t0, end: t0 + 400 * 24 * hour }, field: 'end' },
      { body: { user: 'bob', start: t0, end: t0 + hour, shift: 'x' }, field: 'shift' },
      { body: { user: 'bob', start: t0, end: '' }, field: 'end', text: 'ISO 8601' },
      { body: { user: 'bob', start: t0 }, field: 'end', text: 'ISO 8601' },
    ])('refuses $body with a 400 naming $field', async ({ body, field, text }) => {
      const response = await create(body)
      expect(response.statusCode).toBe(400)
      const { error } = response.json() as { error: { message: string } }
      expect(error.message).toContain(field)
      if (text) expect(error.message).toContain(text)
    })

    it('needs an operator, and a team-scoped one only for their own team', async () => {
      const body = { user: 'bob', start: t0, end: t0 + hour }
      expect((await create(body, 'viewer')).statusCode).toBe(403)
      expect((await create(body, 'responder')).statusCode).toBe(403)
      expect((await create(body, 'dbaOperator', 'web')).statusCode).toBe(403)
      expect((await create(body, 'operator', 'nope')).statusCode).toBe(404)
      const own = await create(body, 'dbaOperator', 'primary')
      expect(own.statusCode).toBe(201)
      const id = (own.json() as { id: string }).id
      const other = await create(body, 'operator', 'web')
      expect(other.statusCode).toBe(201)
      const forbidden = await app.inject({
        method: 'DELETE',
        url: `/api/v1/schedules/web/overrides/${(other.json() as { id: string }).id}`,
        headers: auth.dbaOperator,
      })
      expect(forbidden.statusCode).toBe(403)
      // An override id only counts under its own schedule.
      const wrongSchedule = await app.inject({
        method: 'DELETE',
        url: `/api/v1/schedules/web/overrides/${id}`,
        headers: auth.operator,
      })
      expect(wrongSchedule.statusCode).toBe(404)
    })
  })
}

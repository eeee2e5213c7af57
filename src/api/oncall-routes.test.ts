import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { openIncident } from '../core/incidents/index.js'
import { startEscalation } from '../engine/escalator.js'
import { signAckLink } from '../services/ack-links.js'
import { executeApply } from '../services/apply.js'
import { createApiToken } from '../services/auth.js'
import type { Store } from '../store/dialect.js'
import { getEscalation, listEscalationSteps } from '../store/escalations.js'
import { getIncident, insertIncident } from '../store/incidents.js'
import { testClock, type TestClock } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const key = new Uint8Array(32).fill(9)

const oncall = {
  users: { ann: { name: 'Ann', channels: ['pager'] }, bob: { name: 'Bob', channels: ['pager'] } },
  teams: { dba: { members: ['ann', 'bob'], escalationPolicy: 'dba' } },
  schedules: {
    primary: {
      timeZone: 'Europe/Berlin',
      layers: [
        {
          id: 'weekly',
          users: ['ann', 'bob'],
          start: '2026-11-16T09:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
      overrides: [{ user: 'bob', start: '2026-11-24T08:00:00Z', end: '2026-11-24T20:00:00Z' }],
    },
    office: {
      timeZone: 'UTC',
      layers: [
        {
          id: 'days',
          users: ['ann'],
          start: '2026-11-23T00:00',
          rotation: { every: 1, unit: 'day' },
          restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
        },
      ],
    },
  },
  escalationPolicies: {
    dba: {
      description: 'Database on-call',
      levels: [{ targets: [{ schedule: 'primary' }] }, { delay: '5m', targets: [{ team: 'dba' }] }],
      ackTimeout: '30m',
    },
  },
  routes: { match: [{ matchers: ['service="db-main"'], escalationPolicy: 'dba' }] },
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`on-call API on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let app: FastifyInstance
    let clock: TestClock
    let viewer: { authorization: string }

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
        secretKey: key,
      })
      const token = await createApiToken({ db: store.db, clock }, { name: 'v', role: 'viewer' })
      viewer = { authorization: `Bearer ${token.token}` }
    }, 60_000)
    afterAll(async () => {
      await app?.close()
      await cleanup?.()
    })

    it('says who is on call now in every schedule, and needs a token', async () => {
      expect((await app.inject({ url: '/api/v1/oncall/now' })).statusCode).toBe(401)
      const response = await app.inject({ url: '/api/v1/oncall/now', headers: viewer })
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({
        at: t0,
        schedules: [
          {
            schedule: 'office',
            timeZone: 'UTC',
            user: 'ann',
            name: 'Ann',
            start: Date.UTC(2026, 10, 23, 9),
            end: Date.UTC(2026, 10, 23, 17),
            source: 'layer',
            layer: 'days',
            nextHandoff: Date.UTC(2026, 10, 23, 17),
          },
          {
            schedule: 'primary',
            timeZone: 'Europe/Berlin',
            user: 'bob',
            name: 'Bob',
            start: Date.UTC(2026, 10, 23, 8),
            // The override from 08:00 tomorrow is bob again, but another span (not a hand-off).
            end: Date.UTC(2026, 10, 24, 8),
            source: 'layer',
            layer: 'weekly',
            nextHandoff: Date.UTC(2026, 10, 30, 8),
          },
        ],
      })
      const later = await app.inject({
        url: '/api/v1/oncall/now?at=2026-11-23T20:00:00Z',
        headers: viewer,
      })
      expect(later.json().schedules[0]).toEqual({
        schedule: 'office',
        timeZone: 'UTC',
        nextHandoff: Date.UTC(2026, 10, 24, 9),
      })
    })

    it('lists the final schedule over a range, overrides included', async () => {
      const response = await app.inject({
        url: '/api/v1/schedules/primary/final?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z',
        headers: viewer,
      })
      expect(response.statusCode).toBe(200)
      expect(response.json().spans).toEqual([
        {
          start: Date.UTC(2026, 10, 24, 0),
          end: Date.UTC(2026, 10, 24, 8),
          user: 'bob',
          name: 'Bob',
          source: 'layer',
          layer: 'weekly',
        },
        {
          start: Date.UTC(2026, 10, 24, 8),
          end: Date.UTC(2026, 10, 24, 20),
          user: 'bob',
          name: 'Bob',
          source: 'override',
        },
        {
          start: Date.UTC(2026, 10, 24, 20),
          end: Date.UTC(2026, 10, 25, 0),
          user: 'bob',
          name: 'Bob',
          source: 'layer',
          layer: 'weekly',
        },
      ])
    })

    it.each([
      {
        url: '/api/v1/schedules/nope/final',
        status: 404,
        message: /schedule nope does not exist; schedules: office, primary/,
      },
      {
        url: '/api/v1/schedules/primary/final?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z',
        status: 400,
        message: /`to` must be after `from`/,
      },
      {
        url: '/api/v1/schedules/primary/final?from=0&to=2026-11-23T00:00:00Z',
        status: 400,
        message: /at most 366 days/,
      },
      {
        url: '/api/v1/schedules/primary/gaps?from=yesterday',
        status: 400,
        message: /from must be an ISO 8601 time/,
      },
    ])('answers $status for $url', async ({ url, status, message }) => {
      const response = await app.inject({ url, headers: viewer })
      expect(response.statusCode).toBe(status)
      expect(response.json().error.message).toMatch(message)
    })

    it('lists the gaps of a schedule', async () => {
      const response = await app.inject({
        url: '/api/v1/schedules/office/gaps?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z',
        headers: viewer,
      })
      expect(response.json().gaps).toEqual([
        { start: Date.UTC(2026, 10, 23, 0), end: Date.UTC(2026, 10, 23, 9) },
        { start: Date.UTC(2026, 10, 23, 17), end: Date.UTC(2026, 10, 24, 0) },
      ])
    })

    it('serves a calendar feed only to the secret URL listed for viewers', async () => {
      const list = await app.inject({ url: '/api/v1/schedules', headers: viewer })
      const items = list.json().items as { id: string; feedPath: string }[]
      expect(items.map((i) => i.id)).toEqual(['office', 'primary'])
      const primary = items[1] as { feedPath: string }
      expect(primary.feedPath).toMatch(/^\/api\/v1\/schedules\/primary\/ical\?token=[\w-]{32}$/)
      const feed = await app.inject({ url: primary.feedPath })
      expect(feed.statusCode).toBe(200)
      expect(feed.headers['content-type']).toBe('text/calendar; charset=utf-8')
      expect(feed.body).toContain('BEGIN:VCALENDAR')
      expect(feed.body).toContain('SUMMARY:On call: bob')
      const officeToken = (items[0] as { feedPath: string }).feedPath.split('token=')[1]
      for (const url of [
        '/api/v1/schedules/primary/ical',
        '/api/v1/schedules/primary/ical?token=nope',
        `/api/v1/schedules/primary/ical?token=${officeToken}`,
        `/api/v1/schedules/gone/ical?token=${officeToken}`,
      ]) {
        const refused = await app.inject({ url })
        expect(refused.statusCode).toBe(404)
        expect(refused.json().error.message).toContain('no calendar feed at this URL')
      }
    })

    it('lists escalation policies with their plan, teams and routes', async () => {
      const response = await app.inject({ url: '/api/v1/escalation-policies', headers: viewer })
      expect(response.json().items).toEqual([
        {
          id: 'dba',
          description: 'Database on-call',
          levels: [
            { delay: 0, targets: [{ schedule: 'primary' }], roundRobin: false },
            { delay: 300_000, targets: [{ team: 'dba' }], roundRobin: false },
          ],
          repeat: 0,
          repeatDelay: 300_000,
          ackTimeout: 1_800_000,
          plan: [
            { level: 1, repeatIndex: 0, after: 0 },
            { level: 2, repeatIndex: 0, after: 300_000 },
          ],
          teams: ['dba'],
          routes: [0],
        },
      ])
    })

    describe('one-click links', () => {
      let incidentId: number
      const link = (action: 'ack' | 'resolve', expiresAt = t0 + 3_600_000, id = incidentId) =>
        signAckLink({ incidentId: id, user: 'ann', action, expiresAt }, key)

      beforeAll(async () => {
        const { incident: draft } = openIncident(
          {
            title: 'db-main <down>',
            severity: 'critical',
            groupKey: `g-${kind.name}`,
            service: 'db-main',
          },
          t0,
        )
        const stored = await insertIncident(store.db, draft, t0)
        incidentId = stored?.id as number
        await store.db
          .transaction()
          .execute((trx) => startEscalation(trx, stored as never, 'dba', t0))
      })

      it('shows a confirmation page on GET and changes nothing', async () => {
        const response = await app.inject({ url: link('ack') })
        expect(response.statusCode).toBe(200)
        expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
        expect(response.headers['cache-control']).toBe('no-store')
        expect(response.body).toContain(`Acknowledge incident #${incidentId}?`)
        expect(response.body).toContain('db-main &#60;down&#62;')
        expect(response.body).toContain('<form method="post">')
        expect((await getIncident(store.db, incidentId))?.status).toBe('triggered')
      })

      it.each([
        {
          name: 'a tampered link',
          url: () => link('ack').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
          status: 400,
          text: 'not signed by this Keel',
        },
        {
          name: 'a link for another incident',
          url: () =>
            `/a/${link('ack', undefined, 999).slice(3).split('.')[0]}.${link('ack').split('.')[1]}`,
          status: 400,
          text: 'not signed by this Keel',
        },
        {
          name: 'an expired link',
          url: () => link('ack', t0 - 1),
          status: 410,
          text: 'This link expired at',
        },
        { name: 'garbage', url: () => '/a/garbage', status: 400, text: 'not a Keel link' },
        {
          name: 'a link to an incident that does not exist',
          url: () => link('ack', undefined, 999_999),
          status: 404,
          text: 'does not exist',
        },
      ])('refuses $name', async ({ url, status, text }) => {
        const get = await app.inject({ url: url() })
        expect(get.statusCode).toBe(status)
        expect(get.body).toContain(text)
        const post = await app.inject({ method: 'POST', url: url() })
        expect(post.statusCode).toBe(status)
      })

      it('acknowledges on POST from the form, which stops paging; a second POST is a 409', async () => {
        const response = await app.inject({
          method: 'POST',
          url: link('ack'),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: '',
        })
        expect(response.statusCode).toBe(200)
        expect(response.body).toContain(`Incident #${incidentId} acknowledged`)
        expect(response.body).toContain('Paging has stopped.')
        const incident = await getIncident(store.db, incidentId)
        expect(incident?.status).toBe('acknowledged')
        expect((await getEscalation(store.db, incidentId))?.status).toBe('stopped')
        expect(await listEscalationSteps(store.db, { incidentId, status: 'pending' })).toEqual([])
        const again = await app.inject({ method: 'POST', url: link('ack') })
        expect(again.statusCode).toBe(409)

        const escalation = await app.inject({
          url: `/api/v1/incidents/${incidentId}/escalation`,
          headers: viewer,
        })
        expect(escalation.json()).toMatchObject({
          incidentId,
          policyId: 'dba',
          round: 0,
          status: 'stopped',
          steps: [{ level: 1, status: 'cancelled' }],
        })
      })

      it('resolves with a resolve link', async () => {
        const response = await app.inject({ method: 'POST', url: link('resolve') })
        expect(response.statusCode).toBe(200)
        expect((await getIncident(store.db, incidentId))?.status).toBe('resolved')
      })
    })
  })
}

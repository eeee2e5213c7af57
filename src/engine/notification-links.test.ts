import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { buildApi } from '../api/server.js'
import { createMetrics } from '../api/metrics.js'
import type { NotificationMessage } from '../channels/channel.js'
import { parseMonitorSpec } from '../checks/registry.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import type { CheckStatus } from '../core/checks/index.js'
import { executeApply } from '../services/apply.js'
import { recordHeartbeatPing } from '../services/heartbeats.js'
import { deleteChannel } from '../store/channels.js'
import type { Store } from '../store/dialect.js'
import { getIncident, listIncidents, listTimeline } from '../store/incidents.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { listAlertGroups } from '../store/noise.js'
import { listNotifications } from '../store/notifications.js'
import { processAlertEvents } from './alert-pipeline.js'
import { messageToSend } from './dispatcher.js'
import { flushAlertGroup } from './noise.js'
import { recordOutcomes } from './recorder.js'
import { recordedMonitor } from './scheduler.js'

const t0 = Date.UTC(2026, 4, 4, 8, 0, 0)
const minute = 60_000
const publicUrl = 'https://keel.example.org'
const key = new Uint8Array(32).fill(7)
const links = { publicUrl, key, ttlMs: 60 * minute }

const dbDown = { alertname: 'DbDown', service: 'db-main', severity: 'critical' }

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(
    `one-click links in channel messages on ${kind.name}`,
    () => {
      let store: Store
      let cleanup: () => Promise<void>
      let now = t0
      const clock = { now: () => now }

      beforeEach(async () => {
        now = t0
        const created = await kind.create()
        store = created.store
        cleanup = created.cleanup
        await executeApply(
          { db: store.db, clock, actor: { name: 'test', role: 'admin' } },
          {
            monitors: {},
            channels: { 'ops-chat': { type: 'webhook', url: 'http://127.0.0.1:9/ops' } },
            sources: { monitors: {}, channels: { 'ops-chat': 'keel.yaml' } },
            settings: { defaultChannels: [] },
            alerting: {
              receivers: { ops: { channels: ['ops-chat'] } },
              route: { receiver: 'ops', groupBy: ['service'], groupWait: '30s' },
            },
          },
        )
      })
      afterEach(async () => cleanup())

      // The outbox keeps only a grant; the links are signed as the dispatcher sends the message.
      const messages = async (): Promise<NotificationMessage[]> =>
        (await listNotifications(store.db, { limit: 100 })).map((n) => messageToSend(n, links, now))

      /** Follows a link as a person would (confirmation page, then the form post) on the real API. */
      async function follow(url: string) {
        const app = await buildApi({
          db: store.db,
          clock,
          log: pino({ level: 'silent' }),
          metrics: createMetrics(),
          secretKey: key,
        })
        try {
          const path = url.slice(publicUrl.length)
          expect((await app.inject({ method: 'GET', url: path })).statusCode).toBe(200)
          return await app.inject({ method: 'POST', url: path })
        } finally {
          await app.close()
        }
      }

      const fire = (at: number): AlertEvent => ({
        fingerprint: fingerprint(dbDown),
        status: 'firing',
        labels: dbDown,
        annotations: { summary: 'db-main is down' },
        source: 'alertmanager',
        at,
      })

      async function flush(at: number, options: { publicUrl?: string; links?: typeof links } = {}) {
        now = at
        for (const group of await listAlertGroups(store.db)) {
          if (group.nextFlushAt <= at) await flushAlertGroup(store.db, group.key, at, options)
        }
      }

      it('a group flush carries signed acknowledge and resolve links of the incident', async () => {
        await store.db
          .transaction()
          .execute((trx) => processAlertEvents(trx, [fire(t0)], { now: t0 }))
        const [incident] = await listIncidents(store.db, {})
        await flush(t0 + minute, { publicUrl, links })
        const [message] = await messages()
        expect(message?.actions?.map((a) => a.kind)).toEqual(['acknowledge', 'resolve'])

        const ack = message!.actions![0]!.url
        expect(ack.startsWith(`${publicUrl}/a/`)).toBe(true)
        now = t0 + 2 * minute
        const response = await follow(ack)
        expect(response.statusCode).toBe(200)
        expect(await getIncident(store.db, incident!.id)).toMatchObject({
          status: 'acknowledged',
          acknowledgedAt: t0 + 2 * minute,
        })
        // Nobody in particular reads the channel: the link acts as the channel's.
        const timeline = await listTimeline(store.db, incident!.id)
        expect(timeline.find((entry) => entry.kind === 'acknowledged')?.by).toBe(
          'channel:ops-chat via link',
        )
      })

      it('a channel link stops working once its channel is deleted from Keel', async () => {
        await store.db
          .transaction()
          .execute((trx) => processAlertEvents(trx, [fire(t0)], { now: t0 }))
        const [incident] = await listIncidents(store.db, {})
        await flush(t0 + minute, { publicUrl, links })
        const resolve = (await messages())[0]!.actions!.find((a) => a.kind === 'resolve')!.url
        await deleteChannel(store.db, 'ops-chat')
        const app = await buildApi({
          db: store.db,
          clock,
          log: pino({ level: 'silent' }),
          metrics: createMetrics(),
          secretKey: key,
        })
        try {
          const response = await app.inject({
            method: 'POST',
            url: resolve.slice(publicUrl.length),
          })
          expect(response.statusCode).toBe(403)
          expect(response.body).toContain('channel ops-chat, which no longer exists')
        } finally {
          await app.close()
        }
        expect((await getIncident(store.db, incident!.id))?.status).toBe('triggered')
      })

      it('a group flush has no links without link settings', async () => {
        await store.db
          .transaction()
          .execute((trx) => processAlertEvents(trx, [fire(t0)], { now: t0 }))
        await flush(t0 + minute, { publicUrl })
        const [message] = await messages()
        expect(message?.title).toMatch(/FIRING/)
        expect(message?.actions).toBeUndefined()
      })

      it("a monitor's notification links to its incident, and a recovery with no open incident has none", async () => {
        await insertMonitor(
          store.db,
          {
            slug: 'db',
            type: 'http',
            spec: {
              type: 'http',
              url: 'http://127.0.0.1:1/',
              retries: 0,
              labels: { service: 'db' },
              channels: ['ops-chat'],
            },
            source: 'api',
            paused: false,
          },
          t0,
          t0,
        )
        const check = async (at: number, status: CheckStatus, withLinks: boolean) => {
          now = at
          const row = (await getMonitor(store.db, 'db'))!
          const parsed = parseMonitorSpec(row.spec)
          if (!parsed.ok) throw new Error('bad spec')
          const monitor = recordedMonitor(row, parsed.spec)
          await recordOutcomes(
            store.db,
            [
              {
                monitor,
                outcome: { status, latencyMs: 1, message: status },
                checkedAt: at,
                nextDueAt: at + minute,
              },
            ],
            { defaultChannels: [], publicUrl, now: at, ...(withLinks ? { links } : {}) },
          )
        }
        await check(t0, 'down', true)
        const [incident] = await listIncidents(store.db, {})
        const down = (await messages()).find(
          (m) => m.status === 'firing' && !m.title.startsWith('['),
        )
        expect(down?.actions?.map((a) => a.kind)).toEqual(['acknowledge', 'resolve'])

        const resolve = down!.actions!.find((a) => a.kind === 'resolve')!.url
        now = t0 + minute
        expect((await follow(resolve)).statusCode).toBe(200)
        expect((await getIncident(store.db, incident!.id))?.status).toBe('resolved')

        await check(t0 + 2 * minute, 'up', true)
        const up = (await messages()).find(
          (m) => m.status === 'resolved' && !m.title.startsWith('['),
        )
        expect(up).toBeDefined()
        expect(up?.actions).toBeUndefined()
      })

      it('a failed heartbeat notifies its channels with links to its incident', async () => {
        await insertMonitor(
          store.db,
          {
            slug: 'backup',
            type: 'heartbeat',
            spec: {
              type: 'heartbeat',
              period: '1h',
              grace: '5m',
              retries: 0,
              channels: ['ops-chat'],
            },
            source: 'api',
            paused: false,
            pingToken: 'backup-token-0123456789',
          },
          t0,
          t0,
        )
        const deps = { db: store.db, clock, publicUrl, secretKey: key }
        await recordHeartbeatPing(deps, 'backup-token-0123456789', { kind: 'fail' })
        const [incident] = await listIncidents(store.db, {})
        const down = (await messages()).find(
          (m) => m.status === 'firing' && !m.title.startsWith('['),
        )
        const ack = down?.actions?.find((a) => a.kind === 'acknowledge')
        expect(ack).toBeDefined()
        now = t0 + minute
        expect((await follow(ack!.url)).statusCode).toBe(200)
        expect((await getIncident(store.db, incident!.id))?.status).toBe('acknowledged')
      })
    },
  )
}

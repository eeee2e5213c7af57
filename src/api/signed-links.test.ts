import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import pino from 'pino'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
  type RecordedRequest,
} from '../../test/helpers/loopback-receiver.js'
import { seedPagedIncident } from '../../test/helpers/paging.js'
import type { DeliveryOutcome } from '../channels/channel.js'
import { Dispatcher } from '../engine/dispatcher.js'
import { verifyAckLink } from '../services/ack-links.js'
import { executeApply } from '../services/apply.js'
import { oncallSectionsOf } from '../services/oncall.js'
import { changeUser, createUser } from '../services/users.js'
import { listAudit } from '../store/audit.js'
import { getIncident, listTimeline } from '../store/incidents.js'
import { listNotifications } from '../store/notifications.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const minute = 60_000
const publicUrl = 'https://keel.example.org'
const key = new Uint8Array(32).fill(11)
const links = { publicUrl, key, ttlMs: 10 * minute }
const admin = { name: 'test-admin', role: 'admin' as const }

describe.each(apiStoreKinds)('signed one-click links on $name', ({ kind }) => {
  let h: ApiHarness
  let receiver: LoopbackReceiver
  let dispatcher: Dispatcher
  let outcomes: DeliveryOutcome[]
  let wake: (() => void) | undefined

  beforeEach(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind, { secretKey: key })
    receiver = await startLoopbackReceiver()
    outcomes = []
    dispatcher = new Dispatcher({
      db: h.store.db,
      clock: h.clock,
      log: pino({ level: 'silent' }),
      owner: 'node-a',
      pollIntervalMs: 60_000,
      links,
      onOutcome: (_notification, outcome) => {
        outcomes.push(outcome)
        wake?.()
      },
    })
  }, 60_000)

  afterEach(async () => {
    if (kind.skipReason) return
    await dispatcher.stop(1_000)
    await receiver.close()
    await h.close()
  })

  /** Runs the outbox until `count` delivery outcomes have been recorded in all. */
  async function deliver(count: number): Promise<DeliveryOutcome> {
    dispatcher.start()
    while (outcomes.length < count) await new Promise<void>((resolve) => (wake = resolve))
    return outcomes[count - 1] as DeliveryOutcome
  }

  function linkIn(request: RecordedRequest | undefined, kind: 'acknowledge' | 'resolve'): string {
    const body = JSON.parse(request?.body ?? '{}') as { actions?: { kind: string; url: string }[] }
    const url = body.actions?.find((a) => a.kind === kind)?.url
    if (url === undefined) throw new Error(`the delivered message has no ${kind} link`)
    expect(url.startsWith(`${publicUrl}/a/`)).toBe(true)
    return url.slice(publicUrl.length)
  }

  const page = (user = 'alice') =>
    seedPagedIncident({
      db: h.store.db,
      clock: h.clock,
      channelUrl: `${receiver.url}/hooks/${user}`,
      links,
      user,
    })

  it.skipIf(kind.skipReason)(
    'a viewer reads no working link from the notifications API, though the page carried one',
    async () => {
      const { incidentId, notifications } = await page()
      expect(await deliver(1)).toMatchObject({ kind: 'delivered' })
      const path = linkIn(receiver.requests[0], 'acknowledge')

      const list = await h.app.inject({ url: '/api/v1/notifications', headers: h.as('viewer') })
      expect(list.statusCode).toBe(200)
      const items = list.json().items as { id: string; status: string }[]
      expect(items.find((n) => n.id === notifications[0])).toMatchObject({ status: 'delivered' })
      // The whole answer: no link path, and neither half of the delivered link's token.
      expect(list.body).not.toContain('/a/')
      for (const part of path.slice('/a/'.length).split('.')) expect(list.body).not.toContain(part)
      // Nor the outbox rows themselves (a backup, a read-only database user).
      const rows = await h.store.db.selectFrom('notifications').selectAll().execute()
      expect(JSON.stringify(rows)).not.toContain('/a/')
      expect((await getIncident(h.store.db, incidentId))?.status).toBe('triggered')
    },
  )

  it.skipIf(kind.skipReason)(
    "alice's link acknowledges as user:alice via link, in the timeline and the audit trail",
    async () => {
      const { incidentId } = await page()
      await deliver(1)
      const path = linkIn(receiver.requests[0], 'acknowledge')
      const confirm = await h.app.inject({ url: path })
      expect(confirm.statusCode).toBe(200)
      expect(confirm.body).toContain('Acknowledge as alice')

      const done = await h.app.inject({ method: 'POST', url: path })
      expect(done.statusCode).toBe(200)
      expect((await getIncident(h.store.db, incidentId))?.status).toBe('acknowledged')
      const timeline = await listTimeline(h.store.db, incidentId)
      expect(timeline.find((entry) => entry.kind === 'acknowledged')).toMatchObject({
        by: 'user:alice via link',
      })
      const audit = await listAudit(h.store.db, {})
      expect(
        audit.filter((e) => e.objectType === 'incident' && e.objectId === String(incidentId)),
      ).toEqual([expect.objectContaining({ actor: 'user:alice via link' })])
    },
  )

  it.skipIf(kind.skipReason)(
    "refuses alice's link while her login is disabled, and changes nothing",
    async () => {
      const deps = { db: h.store.db, clock: h.clock }
      await createUser(deps, admin, { id: 'alice', role: 'responder' })
      const { incidentId } = await page()
      await deliver(1)
      const ack = linkIn(receiver.requests[0], 'acknowledge')
      const resolve = linkIn(receiver.requests[0], 'resolve')
      await changeUser(deps, admin, 'alice', { disabled: true })
      const auditBefore = (await listAudit(h.store.db, {})).length

      for (const path of [ack, resolve]) {
        const get = await h.app.inject({ url: path })
        expect(get.statusCode).toBe(403)
        expect(get.body).toContain('disabled')
        const post = await h.app.inject({ method: 'POST', url: path })
        expect(post.statusCode).toBe(403)
        expect(post.body).toContain('whose account is disabled')
      }
      expect((await getIncident(h.store.db, incidentId))?.status).toBe('triggered')
      expect((await listTimeline(h.store.db, incidentId)).map((e) => e.kind)).not.toContain(
        'acknowledged',
      )
      expect(await listAudit(h.store.db, {})).toHaveLength(auditBefore)

      // Enabled again, the same link works for her again.
      await changeUser(deps, admin, 'alice', { disabled: false })
      expect((await h.app.inject({ method: 'POST', url: ack })).statusCode).toBe(200)
    },
  )

  it.skipIf(kind.skipReason)(
    'refuses a link sent to someone who is no longer a user at all',
    async () => {
      const { incidentId } = await page('carl')
      await deliver(1)
      const ack = linkIn(receiver.requests[0], 'acknowledge')
      // carl leaves the on-call configuration and never had a login.
      await executeApply(
        { db: h.store.db, clock: h.clock, actor: admin },
        {
          monitors: {},
          channels: {},
          sources: { monitors: {}, channels: {} },
          settings: { defaultChannels: [] },
          oncall: oncallSectionsOf({ users: { dora: { name: 'Dora' } } }),
        },
      )
      const post = await h.app.inject({ method: 'POST', url: ack })
      expect(post.statusCode).toBe(403)
      expect(post.body).toContain('no longer a Keel or on-call user')
      expect((await getIncident(h.store.db, incidentId))?.status).toBe('triggered')
    },
  )

  it.skipIf(kind.skipReason)(
    'an escalation page retried after its first link would have expired still carries a working link',
    async () => {
      receiver.respondOnce({ status: 503, body: 'pager gateway restarting' })
      const { incidentId, notifications } = await page()
      expect(await deliver(1)).toMatchObject({ kind: 'retry' })
      const [row] = await listNotifications(h.store.db, { limit: 10 })
      expect(row).toMatchObject({ id: notifications[0], status: 'pending', attempts: 1 })

      // The retry goes out an hour later, long after a link signed at queue time (10 min) expired.
      h.clock.set((row?.createdAt ?? 0) + 60 * minute)
      dispatcher.nudge()
      expect(await deliver(2)).toMatchObject({ kind: 'delivered' })
      expect(receiver.requests).toHaveLength(2)
      const path = linkIn(receiver.requests[1], 'acknowledge')
      expect(verifyAckLink(path, key, h.clock.now())).toMatchObject({
        ok: true,
        claims: { incidentId, user: 'alice', action: 'ack' },
      })
      const done = await h.app.inject({ method: 'POST', url: path })
      expect(done.statusCode).toBe(200)
      expect((await getIncident(h.store.db, incidentId))?.status).toBe('acknowledged')
    },
  )
})

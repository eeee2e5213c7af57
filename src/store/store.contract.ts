import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { encodeAckLinkPayload } from '../core/escalation/index.js'
import type { StoreKind } from '../../test/helpers/stores.js'
import type { Store } from './dialect.js'
import * as alerts from './alerts.js'
import * as audit from './audit.js'
import * as auth from './auth.js'
import * as channels from './channels.js'
import * as meta from './meta.js'
import { rewriteLegacyLinkPayloads } from './migrations/0010-link-grants-token-owners.js'
import * as monitors from './monitors.js'
import * as notifications from './notifications.js'
import * as results from './results.js'
import * as rollups from './rollups.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)

function monitorInput(
  slug: string,
  extra: Partial<monitors.MonitorInput> = {},
): monitors.MonitorInput {
  return {
    slug,
    type: 'http',
    spec: { type: 'http', url: `http://127.0.0.1/${slug}`, interval: '20s' },
    source: 'api',
    paused: false,
    ...extra,
  }
}

function message(id: string, fp = 'abc') {
  return {
    id,
    status: 'firing' as const,
    severity: 'critical',
    title: `t ${id}`,
    text: 'x',
    fingerprint: fp,
    labels: { monitor: 'm' },
    annotations: {},
    at: t0,
  }
}

/** The store contract: every query behaves the same on every dialect. */
export function runStoreContract(kind: StoreKind): void {
  describe(`store contract on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    })
    afterEach(async () => {
      await cleanup()
    })

    it('creates, reads, pages, updates and deletes monitors', async () => {
      const { db } = store
      for (const slug of ['c', 'a', 'b'])
        await monitors.insertMonitor(db, monitorInput(slug), t0, t0)
      const created = await monitors.getMonitor(db, 'a')
      expect(created).toMatchObject({ slug: 'a', type: 'http', version: 1, paused: false })
      expect(created?.runtime.state).toBe('pending')
      expect(created?.spec).toEqual({ type: 'http', url: 'http://127.0.0.1/a', interval: '20s' })

      const page1 = await monitors.listMonitors(db, { limit: 2 })
      expect(page1.map((m) => m.slug)).toEqual(['a', 'b'])
      const page2 = await monitors.listMonitors(db, { limit: 2, after: 'b' })
      expect(page2.map((m) => m.slug)).toEqual(['c'])

      const updated = await monitors.updateMonitorSpec(
        db,
        'a',
        {
          type: 'tcp',
          spec: { type: 'tcp', host: '127.0.0.1', port: 1 },
          source: 'keel.yaml',
          paused: false,
        },
        t0 + 1000,
      )
      expect(updated).toMatchObject({
        type: 'tcp',
        version: 2,
        source: 'keel.yaml',
        updatedAt: t0 + 1000,
      })
      expect((await monitors.listMonitorsUpdatedSince(db, t0)).map((m) => m.slug)).toEqual(['a'])

      expect(await monitors.deleteMonitor(db, 'a')).toBe(true)
      expect(await monitors.deleteMonitor(db, 'a')).toBe(false)
      expect(await monitors.getMonitor(db, 'a')).toBeUndefined()
      await expect(monitors.insertMonitor(db, monitorInput('b'), t0, t0)).rejects.toThrow()
    })

    it('leases each monitor to one owner and hands expired leases over', async () => {
      const { db } = store
      for (let i = 0; i < 10; i++) await monitors.insertMonitor(db, monitorInput(`m${i}`), t0, t0)
      const first = await monitors.claimMonitors(db, 'node-a', t0, 30_000, 6)
      const second = await monitors.claimMonitors(db, 'node-b', t0, 30_000, 100)
      expect(first).toHaveLength(6)
      expect(second).toHaveLength(4)
      const overlap = first.filter((m) => second.some((n) => n.id === m.id))
      expect(overlap).toEqual([])
      expect(await monitors.claimMonitors(db, 'node-c', t0 + 1000, 30_000, 100)).toHaveLength(0)
      // A node never re-claims what it already holds; it renews it.
      expect(await monitors.claimMonitors(db, 'node-a', t0 + 1000, 30_000, 100)).toHaveLength(0)
      const byIds = await monitors.getMonitorsByIds(
        db,
        first.map((m) => m.id),
      )
      expect(byIds.map((m) => m.leaseOwner)).toEqual(first.map(() => 'node-a'))

      expect(await monitors.renewMonitorLeases(db, 'node-a', t0 + 20_000, 30_000)).toHaveLength(6)
      // node-b stopped renewing: after its lease passes, node-c takes its monitors.
      const takeover = await monitors.claimMonitors(db, 'node-c', t0 + 40_000, 30_000, 100)
      expect(takeover.map((m) => m.slug).sort()).toEqual(second.map((m) => m.slug).sort())
      await monitors.releaseMonitorLeases(db, 'node-a')
      expect(await monitors.claimMonitors(db, 'node-d', t0 + 41_000, 30_000, 100)).toHaveLength(6)
    })

    it('saves a runtime and finds monitors by state and ping token', async () => {
      const { db } = store
      const m = await monitors.insertMonitor(
        db,
        monitorInput('hb', { type: 'heartbeat', pingToken: 'tok-1' }),
        t0,
        t0,
      )
      await monitors.saveRuntime(db, {
        monitorId: m.id,
        runtime: {
          state: 'down',
          since: t0 + 5,
          consecutiveFailures: 2,
          consecutiveSuccesses: 0,
          history: 'udd',
          flapping: false,
        },
        checkedAt: t0 + 5,
        status: 'down',
        latencyMs: 12.5,
        message: 'connection refused',
        nextDueAt: t0 + 20_005,
      })
      const got = await monitors.getMonitorByPingToken(db, 'tok-1')
      expect(got?.runtime).toEqual({
        state: 'down',
        since: t0 + 5,
        consecutiveFailures: 2,
        consecutiveSuccesses: 0,
        history: 'udd',
        flapping: false,
      })
      expect(got).toMatchObject({
        lastStatus: 'down',
        lastLatencyMs: 12.5,
        lastMessage: 'connection refused',
        nextDueAt: t0 + 20_005,
      })
      expect(await monitors.countMonitorsByState(db)).toEqual({ down: 1 })
      expect((await monitors.listMonitors(db, { state: 'down' })).map((x) => x.slug)).toEqual([
        'hb',
      ])
      await monitors.setLastPing(db, m.id, t0 + 9)
      expect((await monitors.getMonitor(db, 'hb'))?.lastPingAt).toBe(t0 + 9)
    })

    it('keeps raw results, state changes and pings in time order and prunes old ones', async () => {
      const { db } = store
      const m = await monitors.insertMonitor(db, monitorInput('r'), t0, t0)
      await results.insertResults(
        db,
        Array.from({ length: 30 }, (_, i) => ({
          monitorId: m.id,
          checkedAt: t0 + i * 1000,
          status: i % 10 === 9 ? ('down' as const) : ('up' as const),
          latencyMs: i,
          message: `result ${i}`,
          ...(i === 0 ? { metrics: [{ label: 'time', value: 0.5, unit: 's' }] } : {}),
        })),
      )
      const latest = await results.listResults(db, m.id, { limit: 3 })
      expect(latest.map((r) => r.checkedAt)).toEqual([t0 + 29_000, t0 + 28_000, t0 + 27_000])
      expect(latest[0]).toMatchObject({ status: 'down', message: 'result 29' })
      expect(latest[1]).toMatchObject({ status: 'up', message: '' })
      const oldest = await results.listResults(db, m.id, { before: t0 + 1000 })
      expect(oldest).toHaveLength(1)
      expect(oldest[0]?.metrics).toEqual([{ label: 'time', value: 0.5, unit: 's' }])
      expect(await results.listResultsBetween(db, t0, t0 + 10_000)).toHaveLength(10)
      expect(await results.deleteResultsBefore(db, t0 + 10_000)).toBe(10)
      expect(await results.listResults(db, m.id, { limit: 100 })).toHaveLength(20)

      await results.insertStateChange(db, {
        monitorId: m.id,
        at: t0,
        from: 'pending',
        to: 'up',
        message: 'ok',
        flapping: false,
      })
      await results.insertStateChange(db, {
        monitorId: m.id,
        at: t0 + 9000,
        from: 'up',
        to: 'down',
        message: 'boom',
        flapping: false,
      })
      expect((await results.listStateChanges(db, m.id)).map((c) => c.to)).toEqual(['down', 'up'])

      await results.insertPing(db, { monitorId: m.id, receivedAt: t0, kind: 'start' })
      await results.insertPing(db, {
        monitorId: m.id,
        receivedAt: t0 + 1,
        kind: 'exit',
        exitStatus: 3,
        body: 'log',
      })
      expect(await results.listPings(db, m.id)).toEqual([
        { monitorId: m.id, receivedAt: t0 + 1, kind: 'exit', exitStatus: 3, body: 'log' },
        { monitorId: m.id, receivedAt: t0, kind: 'start' },
      ])
      expect(await results.deletePingsBefore(db, t0 + 1)).toBe(1)
    })

    it('stores text with NUL characters, writing U+FFFD in their place', async () => {
      const { db } = store
      const m = await monitors.insertMonitor(db, monitorInput('nul'), t0, t0)
      await results.insertResults(db, [
        { monitorId: m.id, checkedAt: t0, status: 'down', latencyMs: 1, message: 'bad\0output' },
      ])
      await results.insertPing(db, {
        monitorId: m.id,
        receivedAt: t0,
        kind: 'fail',
        body: '\0binary\0',
      })
      const labels = { alertname: 'Nul\0Alert' }
      await alerts.upsertAlertByFingerprint(db, {
        fingerprint: fingerprint(labels),
        labels,
        annotations: { summary: 'x\0y' },
        status: 'firing',
        at: t0,
        source: 'monitor',
      })
      expect((await results.listResults(db, m.id))[0]?.message).toBe('bad\uFFFDoutput')
      expect((await results.listPings(db, m.id))[0]?.body).toBe('\uFFFDbinary\uFFFD')
      // JSON columns keep the NUL itself: JSON text escapes it.
      expect((await alerts.getAlert(db, fingerprint(labels)))?.annotations).toEqual({
        summary: 'x\0y',
      })
    })

    it('upserts roll-ups idempotently and prunes by resolution', async () => {
      const { db } = store
      const row = (bucketStart: number, count: number): rollups.Rollup => ({
        monitorId: 1,
        resolution: 'm',
        bucketStart,
        count,
        failures: 1,
        degraded: 0,
        latencySum: 10 * count,
        latencyP50: 10,
        latencyP95: 20,
        latencyMax: 30,
      })
      await rollups.upsertRollups(db, [row(t0, 3), row(t0 + 60_000, 3)])
      await rollups.upsertRollups(db, [row(t0, 5)])
      const got = await rollups.listRollups(db, 'm', t0, t0 + 120_000, 1)
      expect(got.map((r) => r.count)).toEqual([5, 3])
      expect(await rollups.listRollups(db, 'h', t0, t0 + 120_000)).toEqual([])
      expect(await rollups.deleteRollupsBefore(db, 'm', t0 + 60_000)).toBe(1)
    })

    it('opens, refreshes, resolves and reopens alerts by fingerprint', async () => {
      const { db } = store
      const labels = { alertname: 'MonitorUnhealthy', monitor: 'web' }
      const fp = fingerprint(labels)
      const event = (status: 'firing' | 'resolved', at: number) => ({
        fingerprint: fp,
        labels,
        annotations: { summary: status },
        status,
        at,
        source: 'monitor',
      })
      expect((await alerts.upsertAlertByFingerprint(db, event('resolved', t0))).change).toBe(
        'unchanged',
      )
      expect((await alerts.upsertAlertByFingerprint(db, event('firing', t0))).change).toBe('opened')
      expect((await alerts.upsertAlertByFingerprint(db, event('firing', t0 + 1))).change).toBe(
        'updated',
      )
      const resolved = await alerts.upsertAlertByFingerprint(db, event('resolved', t0 + 2))
      expect(resolved.change).toBe('resolved')
      expect(resolved.alert).toMatchObject({
        status: 'resolved',
        startsAt: t0,
        endsAt: t0 + 2,
        eventCount: 3,
      })
      expect((await alerts.upsertAlertByFingerprint(db, event('resolved', t0 + 3))).change).toBe(
        'unchanged',
      )
      const reopened = await alerts.upsertAlertByFingerprint(db, event('firing', t0 + 4))
      expect(reopened.change).toBe('reopened')
      expect(reopened.alert?.startsAt).toBe(t0 + 4)
      expect(reopened.alert?.endsAt).toBeUndefined()
      expect(await alerts.listAlerts(db, { status: 'firing' })).toHaveLength(1)
      expect((await alerts.getAlert(db, fp))?.labels).toEqual(labels)
    })

    it('queues notifications once, leases them to one dispatcher, retries and completes them', async () => {
      const { db } = store
      await notifications.enqueueNotifications(
        db,
        [{ channelSlug: 'hook', message: message('n1') }],
        t0,
      )
      await notifications.enqueueNotifications(
        db,
        [
          { channelSlug: 'hook', message: message('n1') },
          { channelSlug: 'hook', message: message('n2') },
        ],
        t0,
      )
      expect(await notifications.listNotifications(db)).toHaveLength(2)
      expect(await notifications.nextNotificationDue(db)).toBe(t0)

      const a = await notifications.claimDueNotifications(db, 'a', t0, 30_000, 1)
      const b = await notifications.claimDueNotifications(db, 'b', t0, 30_000, 10)
      expect(a).toHaveLength(1)
      expect(b).toHaveLength(1)
      expect(a[0]?.id).not.toBe(b[0]?.id)
      expect(a[0]?.attempts).toBe(1)
      expect(a[0]?.message.title).toMatch(/^t n/)
      expect(await notifications.claimDueNotifications(db, 'c', t0, 30_000, 10)).toHaveLength(0)

      await notifications.markRetry(db, a[0]!.id, t0 + 5000, 'HTTP 503')
      await notifications.markDelivered(db, b[0]!.id, t0 + 10)
      expect(
        await notifications.claimDueNotifications(db, 'c', t0 + 4999, 30_000, 10),
      ).toHaveLength(0)
      const again = await notifications.claimDueNotifications(db, 'c', t0 + 5000, 30_000, 10)
      expect(again.map((n) => [n.id, n.attempts, n.lastError])).toEqual([[a[0]!.id, 2, 'HTTP 503']])
      await notifications.markFailed(db, a[0]!.id, 'HTTP 400: bad payload')
      const all = await notifications.listNotifications(db)
      expect(all.map((n) => n.status).sort()).toEqual(['delivered', 'failed'])
      expect(await notifications.nextNotificationDue(db)).toBeUndefined()

      // A dispatcher that died holding a lease: once the lease passes, another takes the row.
      await notifications.enqueueNotifications(
        db,
        [{ channelSlug: 'hook', message: message('n3') }],
        t0,
      )
      expect(await notifications.claimDueNotifications(db, 'dead', t0, 30_000, 10)).toHaveLength(1)
      expect(
        await notifications.claimDueNotifications(db, 'c', t0 + 29_999, 30_000, 10),
      ).toHaveLength(0)
      expect(
        await notifications.claimDueNotifications(db, 'c', t0 + 30_001, 30_000, 10),
      ).toHaveLength(1)
    })

    it("keeps a notification's link grant and never stores its signed links", async () => {
      const { db } = store
      const grant = { incidentId: 7, recipient: 'alice', actions: ['ack', 'resolve'] as const }
      const signed = { kind: 'acknowledge' as const, label: 'Ack', url: 'https://k/a/x.y' }
      await notifications.enqueueNotifications(
        db,
        [
          {
            channelSlug: 'hook',
            message: { ...message('g1'), actions: [signed] },
            linkGrant: { ...grant, actions: [...grant.actions] },
          },
          { channelSlug: 'hook', message: message('g2') },
        ],
        t0,
      )
      const [claimed] = await notifications.claimDueNotifications(db, 'a', t0, 30_000, 1)
      expect(claimed?.linkGrant).toEqual(grant)
      const listed = await notifications.listNotifications(db)
      expect(listed.find((n) => n.id === 'g2')?.linkGrant).toBeUndefined()
      const rows = await db.selectFrom('notifications').selectAll().execute()
      expect(JSON.stringify(rows)).not.toContain('/a/')

      // A row queued before migration 0010 carried the signed URLs in its payload.
      const legacy = (action: 'ack' | 'resolve') =>
        `https://keel.example.org/a/${encodeAckLinkPayload({ incidentId: 9, user: 'bob', action, expiresAt: t0 })}.c2lnbmF0dXJl`
      await db
        .updateTable('notifications')
        .set({
          link_grant: null,
          payload: JSON.stringify({
            ...message('g2'),
            actions: [
              { kind: 'acknowledge', label: 'Acknowledge', url: legacy('ack') },
              { kind: 'resolve', label: 'Resolve', url: legacy('resolve') },
            ],
          }),
        })
        .where('id', '=', 'g2')
        .execute()
      expect(await rewriteLegacyLinkPayloads(db)).toBe(1)
      const rewritten = (await notifications.listNotifications(db)).find((n) => n.id === 'g2')
      expect(rewritten?.linkGrant).toEqual({
        incidentId: 9,
        recipient: 'bob',
        actions: ['ack', 'resolve'],
      })
      expect(rewritten?.message).toEqual(message('g2'))
      expect(
        JSON.stringify(await db.selectFrom('notifications').selectAll().execute()),
      ).not.toContain('/a/')
    })

    it('keeps the owner of an API token', async () => {
      const { db } = store
      const base = { role: 'operator' as const, createdAt: t0 }
      await auth.insertApiToken(db, {
        id: 'o1',
        name: 'ci',
        tokenHash: 'ho1',
        owner: 'user:alice',
        ...base,
      })
      await auth.insertApiToken(db, { id: 'o2', name: 'old', tokenHash: 'ho2', ...base })
      expect(await auth.findApiTokenByHash(db, 'ho1')).toMatchObject({ owner: 'user:alice' })
      expect((await auth.findApiTokenByHash(db, 'ho2'))?.owner).toBeUndefined()
    })

    it('stores channels, tokens, users, audit events and meta keys', async () => {
      const { db } = store
      await channels.upsertChannel(
        db,
        { slug: 'hook', type: 'webhook', spec: { url: 'x' }, source: 'api' },
        t0,
      )
      await channels.upsertChannel(
        db,
        { slug: 'hook', type: 'webhook', spec: { url: 'y' }, source: 'api' },
        t0 + 1,
      )
      expect(await channels.listChannels(db)).toEqual([
        {
          slug: 'hook',
          type: 'webhook',
          spec: { url: 'y' },
          source: 'api',
          createdAt: t0,
          updatedAt: t0 + 1,
        },
      ])
      expect(await channels.deleteChannel(db, 'hook')).toBe(true)

      expect(await auth.countApiTokens(db)).toBe(0)
      await auth.insertApiToken(db, {
        id: 't1',
        name: 'ci',
        tokenHash: 'h1',
        role: 'operator',
        createdAt: t0,
        expiresAt: t0 + 10,
      })
      expect(await auth.findApiTokenByHash(db, 'h1')).toMatchObject({
        id: 't1',
        role: 'operator',
        expiresAt: t0 + 10,
      })
      await auth.touchApiToken(db, 't1', t0 + 1)
      expect(await auth.revokeApiToken(db, 't1', t0 + 2)).toBe(true)
      expect(await auth.revokeApiToken(db, 't1', t0 + 3)).toBe(false)
      expect(await auth.findApiTokenByHash(db, 'h1')).toMatchObject({
        lastUsedAt: t0 + 1,
        revokedAt: t0 + 2,
      })
      await auth.insertUser(db, { username: 'ana', passwordHash: 'x', role: 'admin' }, t0)
      expect(await auth.getUser(db, 'ana')).toMatchObject({
        username: 'ana',
        role: 'admin',
        disabled: false,
      })

      await audit.appendAudit(db, {
        at: t0,
        actor: 'ana',
        action: 'monitor.create',
        objectType: 'monitor',
        objectId: 'web',
        details: { after: { a: 1 } },
      })
      await audit.appendAudit(db, {
        at: t0 + 1,
        actor: 'ana',
        action: 'monitor.delete',
        objectType: 'monitor',
        objectId: 'db',
      })
      const events = await audit.listAudit(db, { objectId: 'web' })
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({ action: 'monitor.create', details: { after: { a: 1 } } })

      expect(await meta.getMeta(db, 'k')).toBeUndefined()
      await meta.setMeta(db, 'k', '1')
      await meta.setMeta(db, 'k', '2')
      expect(await meta.getMeta(db, 'k')).toBe('2')
    })
  })
}

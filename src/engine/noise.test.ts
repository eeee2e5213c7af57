import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { parseMonitorSpec } from '../checks/registry.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import type { Clock } from '../core/time.js'
import {
  createMaintenance,
  createSilence,
  createSilenceForAlert,
  expireSilenceById,
  listMaintenanceWindows,
} from '../services/alerting.js'
import { executeApply, type DesiredState } from '../services/apply.js'
import type { ServiceContext } from '../services/context.js'
import { getAlert } from '../store/alerts.js'
import type { Store } from '../store/dialect.js'
import { getEscalation, listEscalationSteps } from '../store/escalations.js'
import { listIncidents, listTimeline } from '../store/incidents.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { listAlertGroups } from '../store/noise.js'
import { listNotifications } from '../store/notifications.js'
import { processAlertEvents } from './alert-pipeline.js'
import { flushAlertGroup, reviewSuppression, sendSilenceExpiryNotices } from './noise.js'
import { recordOutcomes } from './recorder.js'
import { recordedMonitor } from './scheduler.js'

const t0 = Date.UTC(2026, 11, 7, 9, 0, 0) // a Monday
const second = 1_000
const minute = 60_000

const channels = Object.fromEntries(
  ['chat-dba', 'chat-ops', 'pager-ann', 'notices'].map((id) => [
    id,
    { type: 'webhook', url: `http://127.0.0.1:9/${id}` },
  ]),
)

const alerting = {
  receivers: {
    'dba-page': { escalationPolicy: 'dba', channels: ['chat-dba'] },
    ops: { channels: ['chat-ops'] },
  },
  route: {
    receiver: 'ops',
    groupBy: ['alertname', 'service'],
    groupWait: '30s',
    groupInterval: '5m',
    repeatInterval: '4h',
    routes: [{ matchers: ['team="dba"'], receiver: 'dba-page', groupWait: '10s' }],
  },
  inhibitRules: [
    {
      sourceMatchers: ['severity="critical"'],
      targetMatchers: ['severity="warning"'],
      equal: ['service'],
    },
  ],
  maintenance: [
    {
      id: 'sunday-patching',
      title: 'Sunday patching',
      matchers: ['service="web"'],
      timeZone: 'Europe/Berlin',
      recurring: { days: ['sun'], from: '02:00', to: '04:00' },
      public: true,
    },
  ],
  silenceExpiryNotice: '15m',
  noticeChannels: ['notices'],
}

function desired(): DesiredState {
  return {
    monitors: {},
    channels,
    sources: {
      monitors: {},
      channels: Object.fromEntries(Object.keys(channels).map((id) => [id, 'keel.yaml'])),
    },
    settings: { defaultChannels: [] },
    oncall: {
      users: { ann: { name: 'Ann', channels: ['pager-ann'] } },
      teams: {},
      schedules: {},
      escalationPolicies: { dba: { levels: [{ targets: [{ user: 'ann' }] }] } },
      routes: {},
    },
    alerting,
  }
}

function event(
  labels: Record<string, string>,
  status: 'firing' | 'resolved',
  at: number,
): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    status,
    labels,
    annotations: { summary: `${labels.alertname} on ${labels.service}` },
    source: 'test',
    at,
  }
}

const dbDown = { alertname: 'DbDown', service: 'db-main', team: 'dba', severity: 'critical' }
const dbSlow = { alertname: 'DbSlow', service: 'db-main', team: 'dba', severity: 'warning' }
const diskA = { alertname: 'DiskFull', service: 'files', severity: 'warning', host: 'a' }
const diskB = { alertname: 'DiskFull', service: 'files', severity: 'warning', host: 'b' }
const webDown = { alertname: 'WebDown', service: 'web', severity: 'critical' }

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`noise control on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let now = t0
    const clock: Clock = { now: () => now }
    const ctx = (): ServiceContext => ({
      db: store.db,
      clock,
      actor: { name: 'op', role: 'operator', user: 'ann' },
    })
    const ingest = (events: AlertEvent[], at = events[0]?.at ?? now) => {
      now = at
      return store.db.transaction().execute((trx) => processAlertEvents(trx, events, { now: at }))
    }
    const pending = async (channel: string) =>
      (await listNotifications(store.db, { limit: 1000 }))
        .filter((n) => n.channelSlug === channel)
        .map((n) => n.message)
        .reverse()
    const flushAll = async (at: number) => {
      now = at
      const out = []
      for (const group of await listAlertGroups(store.db)) {
        if (group.nextFlushAt <= at) out.push(await flushAlertGroup(store.db, group.key, at))
      }
      return out
    }

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      now = t0
      await executeApply(ctx(), desired())
    })
    afterEach(async () => cleanup())

    it('a silence mutes a firing alert (no incident), and its expiry lets the alert page', async () => {
      const silence = await createSilence(ctx(), {
        matchers: ['alertname="DiskFull"', 'host="a"'],
        duration: '1h',
        comment: 'replacing the disk',
      })
      expect(silence).toMatchObject({ state: 'active', createdBy: 'ann' })
      const [muted, paging] = await ingest([event(diskA, 'firing', t0), event(diskB, 'firing', t0)])
      expect(muted?.suppressedBy).toBe(`silence:${silence.id}`)
      expect(muted?.incident).toBeUndefined()
      expect(paging?.suppressedBy).toBeUndefined()
      expect(paging?.incident?.incident.status).toBe('triggered')
      expect((await getAlert(store.db, fingerprint(diskA)))?.suppressedBy).toBe(
        `silence:${silence.id}`,
      )

      // Expiring it releases the alert into incident grouping.
      now = t0 + 10 * minute
      await expireSilenceById(ctx(), silence.id)
      const review = await reviewSuppression(store.db, now)
      expect(review.released).toEqual([fingerprint(diskA)])
      expect((await getAlert(store.db, fingerprint(diskA)))?.suppressedBy).toBeUndefined()
      const open = await listIncidents(store.db, { status: 'open' })
      expect(open).toHaveLength(1) // both disks share the service's incident
      expect(open[0]?.service).toBe('files')
    })

    it('a silence made while an incident pages stops its paging and says so', async () => {
      const [first] = await ingest([event(dbDown, 'firing', t0)])
      const incidentId = first!.incident!.incident.id
      expect((await getEscalation(store.db, incidentId))?.status).toBe('active')

      now = t0 + minute
      await createSilenceForAlert(ctx(), fingerprint(dbDown), { duration: '2h' })
      const review = await reviewSuppression(store.db, now)
      expect(review.muted).toEqual([fingerprint(dbDown)])
      expect(review.quietedIncidents).toEqual([incidentId])
      expect((await getEscalation(store.db, incidentId))?.status).toBe('stopped')
      const timeline = await listTimeline(store.db, incidentId)
      expect(timeline.at(-1)?.text).toMatch(/Paging stopped: every firing alert/)
    })

    it('a recurring maintenance window mutes in its own time zone only', async () => {
      // Sunday 2026-12-13 02:30 in Berlin is 01:30 UTC: inside the window.
      const inside = Date.UTC(2026, 11, 13, 1, 30)
      const [muted] = await ingest([event(webDown, 'firing', inside)], inside)
      expect(muted?.suppressedBy).toBe('maintenance:sunday-patching')
      expect(muted?.incident).toBeUndefined()
      const windows = await listMaintenanceWindows(store.db, inside)
      expect(windows).toEqual([
        expect.objectContaining({ id: 'sunday-patching', state: 'active', source: 'config' }),
      ])

      // 04:00 Berlin (03:00 UTC) it ends: the review releases the alert, which opens an incident.
      const review = await reviewSuppression(store.db, Date.UTC(2026, 11, 13, 3, 0))
      expect(review.released).toEqual([fingerprint(webDown)])
      expect(await listIncidents(store.db, { status: 'open' })).toHaveLength(1)
    })

    it('a maintenance window made through the API mutes until it ends', async () => {
      const window = await createMaintenance(ctx(), {
        title: 'db failover test',
        matchers: ['service="db-main"'],
        timeZone: 'UTC',
        oneOff: { start: '2026-12-07T08:00:00Z', end: '2026-12-07T10:00:00Z' },
        public: true,
      })
      expect(window).toMatchObject({ state: 'active', source: 'api', public: true })
      const [muted] = await ingest([event(dbDown, 'firing', t0)])
      expect(muted?.suppressedBy).toBe(`maintenance:${window.id}`)
      await expect(
        createMaintenance(ctx(), {
          title: 'bad',
          matchers: ['service=~".*"'],
          oneOff: { start: t0, end: t0 + minute },
        }),
      ).rejects.toThrow(/matchers.*does not match the empty string/)
    })

    it('a critical alert inhibits warnings of the same service, not of others', async () => {
      const [source] = await ingest([event(dbDown, 'firing', t0)])
      expect(source?.suppressedBy).toBeUndefined()
      const [target, other] = await ingest([
        event(dbSlow, 'firing', t0 + second),
        event(diskA, 'firing', t0 + second),
      ])
      expect(target?.suppressedBy).toBe(`inhibited:${fingerprint(dbDown)}`)
      expect(other?.suppressedBy).toBeUndefined()

      // The source resolves: the warning is no longer inhibited and pages on the next review.
      await ingest([event(dbDown, 'resolved', t0 + minute)])
      const review = await reviewSuppression(store.db, t0 + minute + second)
      expect(review.released).toEqual([fingerprint(dbSlow)])
    })

    it('the routing tree picks the policy and delays the first page by its group_wait', async () => {
      const [processed] = await ingest([event(dbDown, 'firing', t0)])
      const incidentId = processed!.incident!.incident.id
      expect(await getEscalation(store.db, incidentId)).toMatchObject({ policyId: 'dba' })
      const steps = await listEscalationSteps(store.db, { incidentId })
      expect(steps.map((s) => s.dueAt - t0)).toEqual([10 * second])
    })

    it('groups notify receiver channels after group_wait, batch per group_interval, repeat, resolve', async () => {
      await ingest([event(diskA, 'firing', t0)])
      await ingest([event(diskB, 'firing', t0 + 5 * second)])
      // Nothing before group_wait (30s).
      expect(await flushAll(t0 + 29 * second)).toEqual([])
      const [first] = await flushAll(t0 + 30 * second)
      expect(first?.sent).toMatchObject({ reason: 'first', firing: 2, channels: ['chat-ops'] })
      let messages = await pending('chat-ops')
      expect(messages).toHaveLength(1)
      expect(messages[0]?.title).toBe('[FIRING:2] DiskFull (alertname=DiskFull, service=files)')

      // A third disk joins: it waits for the group_interval tick (5 min after the flush).
      const diskC = { ...diskA, host: 'c' }
      await ingest([event(diskC, 'firing', t0 + minute)])
      expect(await flushAll(t0 + 2 * minute)).toEqual([])
      const [second5] = await flushAll(t0 + 30 * second + 5 * minute)
      expect(second5?.sent).toMatchObject({ reason: 'new-firing', firing: 3 })

      // One resolves: reported at the next tick.
      await ingest([event(diskA, 'resolved', t0 + 6 * minute)])
      const [third] = await flushAll(t0 + 30 * second + 10 * minute)
      expect(third?.sent).toMatchObject({ reason: 'resolved', firing: 2, resolved: 1 })

      // Unchanged: quiet until repeat_interval (4h) has passed.
      const quiet = await flushAll(t0 + 30 * second + 15 * minute)
      expect(quiet[0]?.sent).toBeUndefined()
      let at = t0 + 30 * second + 15 * minute
      let repeat
      while (!repeat && at < t0 + 5 * 3_600_000) {
        at += 5 * minute
        repeat = (await flushAll(at)).find((f) => f?.sent)?.sent
      }
      expect(repeat?.reason).toBe('repeat')
      expect(at - (t0 + 30 * second + 10 * minute)).toBeGreaterThan(4 * 3_600_000)

      // All resolved: one last message, then the group closes.
      await ingest([event(diskB, 'resolved', at + minute), event(diskC, 'resolved', at + minute)])
      const [last] = await flushAll(at + 5 * minute)
      expect(last).toMatchObject({ closed: true, sent: { reason: 'all-resolved', firing: 0 } })
      expect(await listAlertGroups(store.db)).toEqual([])
      messages = await pending('chat-ops')
      expect(messages.map((m) => m.status)).toEqual([
        'firing',
        'firing',
        'firing',
        'firing',
        'resolved',
      ])
    })

    it('a muted alert is left out of its group messages', async () => {
      await createSilence(ctx(), { matchers: 'host="b"', comment: 'known' })
      await ingest([event(diskA, 'firing', t0), event(diskB, 'firing', t0)])
      const [flush] = await flushAll(t0 + 30 * second)
      expect(flush?.sent).toMatchObject({ firing: 1 })
      const [message] = await pending('chat-ops')
      expect(message?.text).toContain('DiskFull on files')
      expect(message?.title).toBe('[FIRING:1] DiskFull (alertname=DiskFull, service=files)')
    })

    it('announces a silence about to expire once, to the notice channels', async () => {
      const silence = await createSilence(ctx(), {
        matchers: 'service="files"',
        duration: '1h',
        comment: 'disk swap',
      })
      expect(await sendSilenceExpiryNotices(store.db, t0 + 30 * minute)).toEqual([])
      expect(await sendSilenceExpiryNotices(store.db, t0 + 46 * minute)).toEqual([silence.id])
      expect(await sendSilenceExpiryNotices(store.db, t0 + 50 * minute)).toEqual([])
      const [notice] = await pending('notices')
      expect(notice?.title).toMatch(/^Silence expires in 14 min: service="files"/)
      expect(notice?.text).toContain('disk swap')
    })

    it('a team-scoped operator silences only alerts of its own team', async () => {
      const scoped = (): ServiceContext => ({
        db: store.db,
        clock,
        actor: { name: 'dba-bot', role: 'viewer', teams: { dba: 'operator', web: 'responder' } },
      })
      await expect(
        createSilence(scoped(), { matchers: 'service="db-main"', comment: 'x' }),
      ).rejects.toThrow(/scoped to team dba, web.*has no team \(set its label team=dba\)/)
      await expect(
        createSilence(scoped(), { matchers: ['team="web"', 'service="x"'], comment: 'x' }),
      ).rejects.toThrow(/has role responder in team web/)
      await expect(
        createSilence(scoped(), { matchers: ['team="net"'], comment: 'x' }),
      ).rejects.toThrow(/belongs to team net/)
      const own = await createSilence(scoped(), {
        matchers: ['team="dba"', 'service="db-main"'],
        comment: 'failover drill',
      })
      expect(own.state).toBe('active')
      const other = await createSilence(ctx(), { matchers: 'team="net"', comment: 'n' })
      await expect(expireSilenceById(scoped(), other.id)).rejects.toThrow(/belongs to team net/)
      expect((await expireSilenceById(scoped(), own.id)).state).toBe('expired')
    })

    it('rejects silences that would mute everything or end before they start', async () => {
      await expect(
        createSilence(ctx(), { matchers: 'service=~".*"', comment: 'all' }),
      ).rejects.toThrow(/does not match the empty string/)
      await expect(
        createSilence(ctx(), {
          matchers: 'service="x"',
          startsAt: '2026-12-07T10:00:00Z',
          endsAt: '2026-12-07T09:00:00Z',
          comment: 'backwards',
        }),
      ).rejects.toThrow(/endsAt.*must be after/)
      await expect(createSilence(ctx(), { matchers: 'service="x"', comment: ' ' })).rejects.toThrow(
        /comment/,
      )
      await expect(
        createSilence(ctx(), { matchers: 'service="x"', duration: 'soon', comment: 'c' }),
      ).rejects.toThrow(/duration.*such as 30m/)
    })

    it("a silenced monitor sends neither its failure nor its recovery to the monitor's channels", async () => {
      const spec = {
        type: 'http',
        url: 'http://127.0.0.1:1/x',
        retries: 0,
        labels: { service: 'files' },
      }
      await insertMonitor(
        store.db,
        { slug: 'files-http', type: 'http', spec, source: 'api', paused: false },
        t0,
        t0,
      )
      await createSilence(ctx(), { matchers: 'monitor="files-http"', comment: 'migration' })
      const run = async (status: 'up' | 'down', at: number) => {
        now = at
        const row = (await getMonitor(store.db, 'files-http'))!
        const parsed = parseMonitorSpec(row.spec)
        if (!parsed.ok) throw new Error('bad spec')
        return recordOutcomes(
          store.db,
          [
            {
              monitor: recordedMonitor(row, parsed.spec),
              outcome: { status, latencyMs: 1, message: status },
              checkedAt: at,
              nextDueAt: at + minute,
            },
          ],
          { defaultChannels: ['chat-ops'], now: at },
        )
      }
      const down = await run('down', t0 + minute)
      expect(down[0]?.transition.to).toBe('down')
      expect(down[0]?.notified).toEqual([])
      const up = await run('up', t0 + 2 * minute)
      expect(up[0]?.transition.to).toBe('up')
      expect(up[0]?.notified).toEqual([])
      expect(await listIncidents(store.db, {})).toEqual([])
    })
  })
}

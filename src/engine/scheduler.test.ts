import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
} from '../../test/helpers/loopback-receiver.js'
import { storeKinds } from '../../test/helpers/stores.js'
import { writeSharedSettings } from '../services/settings.js'
import { listAlerts } from '../store/alerts.js'
import { upsertChannel } from '../store/channels.js'
import type { Store } from '../store/dialect.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { listNotifications } from '../store/notifications.js'
import { listResults, listStateChanges } from '../store/results.js'
import { Dispatcher } from './dispatcher.js'
import { Scheduler } from './scheduler.js'

const clock = { now: () => Date.now() }
const log = pino({ level: 'silent' })

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** An HTTP target whose answer the test switches between healthy, failing and hanging. */
async function startTarget(): Promise<{
  url: string
  mode: { status: number; hang: boolean }
  hits: () => number
  close(): Promise<void>
}> {
  const mode = { status: 200, hang: false }
  let hits = 0
  const server: Server = createServer((_req, res) => {
    hits++
    if (mode.hang) return
    res.writeHead(mode.status)
    res.end(mode.status === 200 ? 'all good' : 'broken')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode,
    hits: () => hits,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`scheduler on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let target: Awaited<ReturnType<typeof startTarget>>
    let receiver: LoopbackReceiver
    const running: { stop(deadline?: number): Promise<void> }[] = []

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      target = await startTarget()
      receiver = await startLoopbackReceiver()
      await upsertChannel(
        store.db,
        {
          slug: 'hook',
          type: 'webhook',
          spec: { type: 'webhook', url: receiver.url },
          source: 'api',
        },
        clock.now(),
      )
      await writeSharedSettings(store.db, { defaultChannels: ['hook'] })
    })
    afterEach(async () => {
      for (const part of running.splice(0)) await part.stop(1_000)
      await target.close()
      await receiver.close()
      await cleanup()
    })

    /** Which node checked which monitor, in order, for the tests of two nodes. */
    const checkedBy: { owner: string; monitor: string }[] = []

    function startEngine(owner = 'node-a') {
      const dispatcher = new Dispatcher({ db: store.db, clock, log, owner, pollIntervalMs: 200 })
      const scheduler = new Scheduler({
        db: store.db,
        clock,
        log,
        owner,
        jitter: false,
        syncIntervalMs: 200,
        flushIntervalMs: 50,
        defaultChannels: () => ['hook'],
        onTransitions: () => dispatcher.nudge(),
        onCheck: ({ monitor }) => checkedBy.push({ owner, monitor: monitor.slug }),
      })
      running.push(scheduler, dispatcher)
      dispatcher.start()
      return { scheduler, dispatcher }
    }

    async function addHttpMonitor(slug: string, extra: Record<string, unknown> = {}) {
      const now = clock.now()
      return insertMonitor(
        store.db,
        {
          slug,
          type: 'http',
          spec: {
            type: 'http',
            url: `${target.url}/${slug}`,
            interval: '1s',
            timeout: '1s',
            retries: 0,
            ...extra,
          },
          source: 'api',
          paused: false,
        },
        now,
        now,
      )
    }

    it('turns a failing target into one DOWN notification and its recovery into one resolved notification', async () => {
      const monitor = await addHttpMonitor('web')
      const { scheduler, dispatcher } = startEngine()
      await scheduler.start()
      await waitFor(
        'web up',
        async () => (await getMonitor(store.db, 'web'))?.runtime.state === 'up',
      )

      target.mode.status = 500
      await waitFor(
        'web down',
        async () => (await getMonitor(store.db, 'web'))?.runtime.state === 'down',
      )
      await receiver.waitFor(1, 10_000)
      const firing = JSON.parse(receiver.requests[0]!.body) as {
        status: string
        title: string
        labels: Record<string, string>
      }
      expect(firing).toMatchObject({
        status: 'firing',
        labels: { monitor: 'web', alertname: 'MonitorUnhealthy' },
      })
      expect(firing.title).toContain('is DOWN')

      target.mode.status = 200
      await waitFor(
        'web up again',
        async () => (await getMonitor(store.db, 'web'))?.runtime.state === 'up',
      )
      await receiver.waitFor(2, 10_000)
      const resolved = JSON.parse(receiver.requests[1]!.body) as { status: string }
      expect(resolved.status).toBe('resolved')

      const changes = await listStateChanges(store.db, monitor.id)
      expect(changes.map((c) => `${c.from}->${c.to}`).reverse()).toEqual([
        'pending->up',
        'up->down',
        'down->up',
      ])
      expect((await listAlerts(store.db))[0]).toMatchObject({ status: 'resolved' })
      expect(
        (await listResults(store.db, monitor.id, { limit: 1000 })).some((r) => r.status === 'down'),
      ).toBe(true)
      // No extra notifications: exactly one firing and one resolved. A duplicate would come from
      // a later check or a second delivery, so wait for two more checks, write them out, let the
      // dispatcher finish one more pass, then count the outbox and the deliveries.
      const checked = (await listResults(store.db, monitor.id, { limit: 1000 })).length
      await waitFor(
        'two more checks of web',
        async () =>
          (await listResults(store.db, monitor.id, { limit: 1000 })).length >= checked + 2,
      )
      await scheduler.flush()
      dispatcher.nudge()
      await dispatcher.idle()
      expect(await listNotifications(store.db, { limit: 100 })).toHaveLength(2)
      expect(receiver.requests).toHaveLength(2)
    })

    it('marks a heartbeat monitor down when no ping arrives by its deadline, and notifies', async () => {
      const now = clock.now()
      await insertMonitor(
        store.db,
        {
          slug: 'cron-job',
          type: 'heartbeat',
          spec: { type: 'heartbeat', period: '1s', grace: '1s', retries: 0, interval: '1s' },
          source: 'api',
          paused: false,
          pingToken: 'cron-job-token',
        },
        now,
        now,
      )
      await startEngine().scheduler.start()
      const row = await waitFor('cron-job down', async () => {
        const m = await getMonitor(store.db, 'cron-job')
        return m?.runtime.state === 'down' ? m : undefined
      })
      expect(row.lastMessage).toMatch(/ping/i)
      await receiver.waitFor(1, 10_000)
      expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({
        status: 'firing',
        labels: { monitor: 'cron-job', monitor_type: 'heartbeat' },
      })
    })

    it('keeps checking other monitors while one check hangs until its timeout', async () => {
      target.mode.hang = false
      const hanging = await startTarget()
      hanging.mode.hang = true
      try {
        const now = clock.now()
        await insertMonitor(
          store.db,
          {
            slug: 'stuck',
            type: 'http',
            spec: { type: 'http', url: hanging.url, interval: '1s', timeout: '5s', retries: 0 },
            source: 'api',
            paused: false,
          },
          now,
          now,
        )
        const fast = await addHttpMonitor('fast')
        await startEngine().scheduler.start()
        // While the stuck check waits out its 5 s timeout, the fast one keeps its 1 s cadence.
        await waitFor(
          'three results of the fast monitor',
          async () => (await listResults(store.db, fast.id)).length >= 3,
          4_500,
        )
        expect(hanging.hits()).toBeGreaterThanOrEqual(1)
      } finally {
        await hanging.close()
      }
    })

    it('runs each monitor on one node when two nodes share the store', async () => {
      const monitors: Awaited<ReturnType<typeof addHttpMonitor>>[] = []
      for (let i = 0; i < 6; i++) monitors.push(await addHttpMonitor(`m${i}`, { interval: '2s' }))
      const a = startEngine('node-a').scheduler
      const b = startEngine('node-b').scheduler
      await a.start()
      await b.start()
      expect(a.size + b.size).toBe(6)
      // Two checks of every monitor: each must come from one node, never from both.
      const checksOf = (slug: string) => checkedBy.filter((c) => c.monitor === slug)
      await waitFor('two checks of every monitor', async () =>
        monitors.every((m) => checksOf(m.slug).length >= 2),
      )
      // Stopping lets running checks finish and writes them out, so results and checks agree.
      await a.stop()
      await b.stop()
      for (const m of monitors) {
        const checks = checksOf(m.slug)
        expect(new Set(checks.map((c) => c.owner)).size, `monitor ${m.slug}`).toBe(1)
        const results = await listResults(store.db, m.id, { limit: 100 })
        expect(results.length, `monitor ${m.slug}`).toBe(checks.length)
      }
    })

    it("hands a stopped node's monitors to the other node", async () => {
      for (let i = 0; i < 4; i++) await addHttpMonitor(`h${i}`)
      const a = startEngine('node-a').scheduler
      await a.start()
      expect(a.size).toBe(4)
      const b = startEngine('node-b').scheduler
      await b.start()
      expect(b.size).toBe(0)
      await a.stop(1_000)
      await waitFor('node-b to take over', async () => {
        await b.sync()
        return b.size === 4
      })
    })
  })
}

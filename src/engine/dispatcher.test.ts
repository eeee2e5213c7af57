import type { KyselyPlugin, RootOperationNode } from 'kysely'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
} from '../../test/helpers/loopback-receiver.js'
import { storeKinds } from '../../test/helpers/stores.js'
import type { NotificationMessage } from '../channels/index.js'
import { upsertChannel } from '../store/channels.js'
import type { Db, Store } from '../store/dialect.js'
import {
  claimDueNotifications,
  enqueueNotifications,
  listNotifications,
  type Notification,
} from '../store/notifications.js'
import { Dispatcher, retryDelayMs, type DispatcherOptions } from './dispatcher.js'

const t0 = Date.UTC(2026, 2, 10, 9, 0, 0)
const second = 1_000
const minute = 60 * second
const hour = 60 * minute
const log = pino({ level: 'silent' })

describe('retryDelayMs', () => {
  // Exponential from 10 s, the base capped at 30 min, then ±20 % jitter around the base.
  it.each([
    [1, 8_000, 12_000],
    [2, 16_000, 24_000],
    [3, 32_000, 48_000],
    [4, 64_000, 96_000],
    [5, 128_000, 192_000],
    [6, 256_000, 384_000],
    [7, 512_000, 768_000],
    [8, 1_024_000, 1_536_000],
    [9, 1_440_000, 2_160_000],
    [10, 1_440_000, 2_160_000],
    [11, 1_440_000, 2_160_000],
    [12, 1_440_000, 2_160_000],
    [13, 1_440_000, 2_160_000],
    [14, 1_440_000, 2_160_000],
    [15, 1_440_000, 2_160_000],
  ])('after attempt %i waits between %i ms and %i ms', (attempt, lowest, highest) => {
    expect(retryDelayMs(attempt, 0)).toBe(lowest)
    expect(retryDelayMs(attempt, 1)).toBe(highest)
    expect(retryDelayMs(attempt, 0.5)).toBe(Math.min(10_000 * 2 ** (attempt - 1), 30 * minute))
  })

  it('stays at the cap for absurd attempt counts instead of overflowing', () => {
    expect(retryDelayMs(10_000, 0.5)).toBe(30 * minute)
  })
})

/** Counts the dispatcher's claims and its "when is the next row due" reads on a real handle. */
interface ObservedDb {
  db: Db
  claims: number
  /** The dispatcher reads the next due time only when a pass has ended and it arms its timer. */
  dueReads: number
  /** Those reads answered, and what the last one returned: the loop sleeps until then. */
  dueAnswers: number
  lastDue?: number | undefined
  onClaim?: () => void
}

/**
 * Wraps the store handle with a plugin that only watches the queries going by; they still run on
 * the real store. Matching on the operation tree keeps the test independent of SQL text.
 */
function observe(db: Db): ObservedDb {
  const mentions = (node: RootOperationNode, name: string) =>
    JSON.stringify(node).includes(`"name":"${name}"`)
  const observed: ObservedDb = { db, claims: 0, dueReads: 0, dueAnswers: 0 }
  const dueQueries = new WeakSet<object>()
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      if (!mentions(node, 'notifications')) return node
      if (node.kind === 'UpdateQueryNode' && mentions(node, 'lease_owner')) {
        if (mentions(node, 'attempts')) {
          observed.claims++
          observed.onClaim?.()
        }
      } else if (node.kind === 'SelectQueryNode' && JSON.stringify(node).includes('"func":"min"')) {
        observed.dueReads++
        dueQueries.add(queryId)
      }
      return node
    },
    async transformResult({ result, queryId }) {
      if (dueQueries.has(queryId)) {
        const due = (result.rows[0] as { due?: unknown } | undefined)?.due
        observed.lastDue = due === null || due === undefined ? undefined : Number(due)
        observed.dueAnswers++
      }
      return result
    },
  }
  observed.db = db.withPlugin(plugin)
  return observed
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function message(id: string): NotificationMessage {
  return {
    id,
    status: 'firing',
    severity: 'critical',
    title: `web-home is DOWN (${id})`,
    text: 'GET https://example.org/ answered 503 twice in a row',
    fingerprint: `fp-${id}`,
    labels: { monitor: 'web-home' },
    annotations: {},
    at: t0,
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`dispatcher on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let receiver: LoopbackReceiver
    let t: number
    const clock = { now: () => t }
    const started: Dispatcher[] = []

    beforeEach(async () => {
      t = t0
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      receiver = await startLoopbackReceiver()
      await upsertChannel(
        store.db,
        {
          slug: 'hook',
          type: 'webhook',
          spec: { type: 'webhook', url: `${receiver.url}/hooks/keel` },
          source: 'api',
        },
        t,
      )
    })

    afterEach(async () => {
      for (const dispatcher of started.splice(0)) await dispatcher.stop(1_000)
      await receiver.close()
      await cleanup()
    })

    /** A started dispatcher whose polling alone would not fire during a test. */
    function startDispatcher(options: Partial<DispatcherOptions> = {}) {
      const observed = observe(store.db)
      const dispatcher = new Dispatcher({
        clock,
        log,
        owner: 'node-a',
        pollIntervalMs: 60_000,
        ...options,
        db: observed.db,
      })
      started.push(dispatcher)
      dispatcher.start()
      return { dispatcher, observed }
    }

    /** Nudges and waits until the dispatcher has finished a whole pass and armed its timer. */
    async function pass(worker: { dispatcher: Dispatcher; observed: ObservedDb }) {
      const reads = worker.observed.dueReads
      worker.dispatcher.nudge()
      await until('a dispatch pass to end', () => worker.observed.dueReads > reads)
    }

    async function enqueue(...ids: string[]) {
      await enqueueNotifications(
        store.db,
        ids.map((id) => ({ channelSlug: 'hook', message: message(id) })),
        t,
      )
    }

    async function row(id: string): Promise<Notification> {
      const found = (await listNotifications(store.db, { limit: 1_000 })).find((n) => n.id === id)
      if (!found) throw new Error(`notification ${id} is not in the outbox`)
      return found
    }

    async function statusCount(status: Notification['status']): Promise<number> {
      return (await listNotifications(store.db, { status, limit: 1_000 })).length
    }

    function deliveryIds(): string[] {
      return receiver.requests.map((request) => String(request.headers['x-keel-delivery']))
    }

    it('delivers a queued notification once as soon as it is nudged, without waiting for the poll', async () => {
      const worker = startDispatcher()
      // The first pass found an empty outbox and went to sleep for the 60 s poll interval.
      await until('the first pass to end', () => worker.observed.dueReads > 0)

      await enqueue('n-1')
      worker.dispatcher.nudge()
      await until('n-1 to be delivered', async () => (await row('n-1')).status === 'delivered')
      await worker.dispatcher.stop()

      expect(receiver.requests).toHaveLength(1)
      const [request] = receiver.requests
      expect(request?.method).toBe('POST')
      expect(request?.path).toBe('/hooks/keel')
      expect(request?.headers['x-keel-delivery']).toBe('n-1')
      expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
        id: 'n-1',
        title: 'web-home is DOWN (n-1)',
      })
      expect(await row('n-1')).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: t })
      expect((await row('n-1')).lastError).toBeUndefined()
    })

    it('keeps a notification answered with 503 pending, retries it when due, and delivers it', async () => {
      receiver.respondWith({ status: 503, body: 'maintenance' })
      await enqueue('n-1')
      const worker = startDispatcher()
      await until('the first attempt', async () => (await row('n-1')).attempts === 1)
      await pass(worker)

      const retried = await row('n-1')
      expect(retried).toMatchObject({ status: 'pending', attempts: 1 })
      expect(retried.lastError).toMatch(/HTTP 503/)
      expect(retried.nextAttemptAt).toBeGreaterThanOrEqual(t + retryDelayMs(1, 0))
      expect(retried.nextAttemptAt).toBeLessThanOrEqual(t + retryDelayMs(1, 1))

      receiver.respondWith({ status: 200 })
      t = retried.nextAttemptAt - 1
      await pass(worker)
      expect(receiver.requests).toHaveLength(1)

      t = retried.nextAttemptAt
      worker.dispatcher.nudge()
      await until(
        'the retry to be delivered',
        async () => (await row('n-1')).status === 'delivered',
      )
      expect(receiver.requests).toHaveLength(2)
      expect(deliveryIds()).toEqual(['n-1', 'n-1'])
      expect(await row('n-1')).toMatchObject({ attempts: 2, deliveredAt: t })
    })

    it('honours Retry-After when it asks for longer than the backoff', async () => {
      receiver.respondWith({ status: 503, headers: { 'retry-after': '120' } })
      await enqueue('n-1')
      startDispatcher()
      const retried = await until('the first attempt to be recorded', async () => {
        const current = await row('n-1')
        return current.lastError !== undefined && current
      })
      expect(retried).toMatchObject({ status: 'pending', attempts: 1 })
      expect(retried.nextAttemptAt).toBeGreaterThanOrEqual(t + 120 * second)
      expect(retried.nextAttemptAt).toBeLessThanOrEqual(t + 120 * second + retryDelayMs(1, 1))
    })

    it('fails a notification the receiver rejects with 400 at once and never sends it again', async () => {
      receiver.respondWith({ status: 400, body: 'unknown field "severity"' })
      await enqueue('n-1')
      const worker = startDispatcher()
      await until('n-1 to fail', async () => (await row('n-1')).status === 'failed')

      const failed = await row('n-1')
      expect(failed.attempts).toBe(1)
      expect(failed.lastError).toMatch(/HTTP 400: unknown field "severity"/)
      t += hour
      await pass(worker)
      expect(receiver.requests).toHaveLength(1)
    })

    it('gives up after maxAttempts attempts', async () => {
      receiver.respondWith({ status: 503 })
      await enqueue('n-1')
      const worker = startDispatcher({ maxAttempts: 3 })
      const seen: [number, string, number][] = []
      for (let i = 0; i < 4; i++) {
        await pass(worker)
        const current = await row('n-1')
        seen.push([receiver.requests.length, current.status, current.attempts])
        // Later than any backoff of the first attempts, well inside the 24 h maximum age.
        t += hour
      }

      expect(seen).toEqual([
        [1, 'pending', 1],
        [2, 'pending', 2],
        [3, 'failed', 3],
        [3, 'failed', 3],
      ])
      expect((await row('n-1')).lastError).toMatch(/^gave up after 3 attempts: .*HTTP 503/)
    })

    it('fails a notification whose channel is not in the store, naming the channel', async () => {
      await enqueueNotifications(store.db, [{ channelSlug: 'pager', message: message('n-1') }], t)
      startDispatcher()
      await until('n-1 to fail', async () => (await row('n-1')).status === 'failed')

      expect((await row('n-1')).lastError).toMatch(/channel pager does not exist/)
      expect(receiver.requests).toHaveLength(0)
    })

    it.each([
      ['after the tenth request has arrived', 'request'],
      ['while it is claiming more rows', 'claim'],
    ] as const)(
      'loses and duplicates nothing when stopped %s and replaced by another node',
      async (_moment, stopAt) => {
        receiver.respondWith({ status: 200, delayMs: 50 })
        const ids = Array.from({ length: 50 }, (_, i) => `n-${String(i).padStart(2, '0')}`)
        await enqueue(...ids)

        let stopping: Promise<void> | undefined
        const a = startDispatcher({ owner: 'node-a', concurrency: 4 })
        if (stopAt === 'claim') {
          // Stopping exactly while a claim query runs: the claimed rows are not yet in flight.
          a.observed.onClaim = () => {
            if (stopping === undefined && receiver.requests.length >= 10) {
              stopping = a.dispatcher.stop()
            }
          }
        }
        await receiver.waitFor(10)
        if (stopAt === 'request') stopping = a.dispatcher.stop()
        await until('node A to be told to stop', () => stopping !== undefined)
        await stopping

        // A graceful stop finishes what it started: every row is delivered or was never touched.
        const afterA = await listNotifications(store.db, { limit: 1_000 })
        const deliveredByA = afterA.filter((n) => n.status === 'delivered').map((n) => n.id)
        expect(deliveredByA.length).toBeGreaterThanOrEqual(10)
        expect(deliveredByA.length).toBeLessThan(50)
        const leftHalfDone = afterA.filter(
          (n) => n.status !== 'delivered' && (n.attempts > 0 || n.lastError !== undefined),
        )
        expect(leftHalfDone.map((n) => [n.id, n.status, n.attempts, n.lastError])).toEqual([])
        expect(deliveryIds().sort()).toEqual(deliveredByA.sort())

        const b = startDispatcher({ owner: 'node-b', concurrency: 4 })
        await until('all 50 to be delivered', async () => (await statusCount('delivered')) === 50)
        await b.dispatcher.stop()

        expect(receiver.requests).toHaveLength(50)
        expect(new Set(deliveryIds()).size).toBe(50)
        expect(deliveryIds().sort()).toEqual(ids)
      },
    )

    it('delivers rows leased by a crashed node once the lease expires, each exactly once', async () => {
      const ids = Array.from({ length: 10 }, (_, i) => `n-${i}`)
      await enqueue(...ids)
      const leaseMs = 30 * second
      // A node that died after claiming, before sending anything.
      expect(await claimDueNotifications(store.db, 'dead-node', t, leaseMs, 10)).toHaveLength(10)

      const b = startDispatcher({ owner: 'node-b' })
      await until('the first pass to end and arm its timer', () => b.observed.dueAnswers > 0)
      // Nothing may happen before the lease expires: the pass delivered nothing, and the loop
      // armed its timer for the lease's end (no polling in a loop before it).
      expect(receiver.requests).toHaveLength(0)
      expect(b.observed.lastDue).toBe(t + leaseMs)

      t += leaseMs - 1
      await pass(b)
      expect(receiver.requests).toHaveLength(0)

      t += 2
      b.dispatcher.nudge()
      await until('all 10 to be delivered', async () => (await statusCount('delivered')) === 10)
      await b.dispatcher.stop()

      expect(deliveryIds().sort()).toEqual(ids)
      // Each row counts the attempt the dead node claimed and never made.
      const rows = await listNotifications(store.db, { limit: 1_000 })
      expect(rows.map((n) => n.attempts)).toEqual(ids.map(() => 2))
    })

    it('records a retry for a receiver that never answers, keeps going, and still stops', async () => {
      receiver.respondWith({ delayMs: Infinity })
      await enqueue('n-1', 'n-2')
      const worker = startDispatcher({ concurrency: 1, attemptTimeoutMs: 300 })
      // With one slot, n-2 is only sent because n-1's attempt was cut off.
      await until('both attempts to be recorded', async () => {
        const rows = await listNotifications(store.db, { limit: 1_000 })
        return rows.every((n) => n.lastError !== undefined)
      })
      for (const id of ['n-1', 'n-2']) {
        const retried = await row(id)
        expect(retried).toMatchObject({ status: 'pending', attempts: 1 })
        expect(retried.lastError).toMatch(/timed out: no answer within 300 ms/)
        expect(retried.nextAttemptAt).toBeGreaterThanOrEqual(t + retryDelayMs(1, 0))
      }
      expect(receiver.requests).toHaveLength(2)

      // One more attempt hangs when stop() is called; the stop deadline is far beyond the
      // test's timeout, so only the attempt timeout can let stop() return.
      await enqueue('n-3')
      worker.dispatcher.nudge()
      await receiver.waitFor(3)
      await worker.dispatcher.stop(10 * minute)
      expect(await row('n-3')).toMatchObject({ status: 'pending', attempts: 1 })
      expect((await row('n-3')).lastError).toMatch(/timed out/)
    }, 15_000)
  })
}

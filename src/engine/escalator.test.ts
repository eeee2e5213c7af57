import type { KyselyPlugin } from 'kysely'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { executeApply, type DesiredState } from '../services/apply.js'
import { verifyAckLink } from '../services/ack-links.js'
import type { OncallSectionsInput } from '../services/oncall.js'
import type { Store } from '../store/dialect.js'
import {
  claimDueEscalationSteps,
  getEscalation,
  listEscalationSteps,
} from '../store/escalations.js'
import { setMeta } from '../store/meta.js'
import { listNotifications } from '../store/notifications.js'
import {
  applyEscalationEffects,
  Escalator,
  runEscalationStep,
  startEscalation,
  stopEscalation,
  type EscalationIncident,
} from './escalator.js'
import { messageToSend } from './dispatcher.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const minute = 60_000
const log = pino({ level: 'silent' })
const key = new Uint8Array(32).fill(3)

const oncall: OncallSectionsInput = {
  users: {
    ann: { name: 'Ann', channels: ['pager-ann', 'mail-ann'] },
    bob: { name: 'Bob', channels: ['pager-bob'] },
    cid: { name: 'Cid' },
    dee: { name: 'Dee', channels: ['pager-dee'] },
  },
  teams: { dba: { members: ['bob', 'dee'] }, net: { members: ['dee'], escalationPolicy: 'rr' } },
  schedules: {
    primary: {
      timeZone: 'UTC',
      layers: [
        {
          id: 'l',
          users: ['ann'],
          start: '2026-11-02T09:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
    },
  },
  escalationPolicies: {
    main: {
      levels: [
        { targets: [{ schedule: 'primary' }] },
        { delay: '5m', targets: [{ team: 'dba' }] },
        { delay: '10m', targets: [{ user: 'cid' }] },
      ],
      repeat: 1,
      repeatDelay: '15m',
    },
    rr: { levels: [{ targets: [{ team: 'dba' }], roundRobin: true }] },
  },
  routes: { match: [{ matchers: ['team="dba"'], escalationPolicy: 'main' }] },
}

function desired(sections: OncallSectionsInput): DesiredState {
  const channels = Object.fromEntries(
    ['pager-ann', 'mail-ann', 'pager-bob', 'pager-dee'].map((id) => [
      id,
      { type: 'webhook', url: `http://127.0.0.1:9/${id}` },
    ]),
  )
  return {
    monitors: {},
    channels,
    sources: {
      monitors: {},
      channels: Object.fromEntries(Object.keys(channels).map((id) => [id, 'keel.yaml'])),
    },
    settings: { defaultChannels: [] },
    oncall: sections,
  }
}

const incident = (id: number, extra: Partial<EscalationIncident> = {}): EscalationIncident => ({
  id,
  title: `db-main is down (${id})`,
  severity: 'critical',
  service: 'db-main',
  team: 'dba',
  ...extra,
})

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`the escalator on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let now = t0

    const clock = { now: () => now }
    const apply = (sections: OncallSectionsInput) =>
      executeApply(
        { db: store.db, clock, actor: { name: 'test', role: 'admin' } },
        desired(sections),
      )
    const start = (inc: EscalationIncident, policy: string, at = now) =>
      store.db.transaction().execute((trx) => startEscalation(trx, inc, policy, at))
    const stop = (incidentId: number, at = now) =>
      store.db.transaction().execute((trx) => stopEscalation(trx, incidentId, at))
    /** Claims and runs every step due at `now`, as one node would. */
    const runDue = async (owner = 'node-a', links = false) => {
      const claimed = await claimDueEscalationSteps(store.db, owner, now, 60_000, 100)
      const results = []
      for (const step of claimed) {
        results.push(
          await runEscalationStep(store.db, step, {
            owner,
            now,
            ...(links ? { links: { publicUrl: 'https://keel.example.org', key } } : {}),
          }),
        )
      }
      return results
    }
    const pages = async () =>
      (await listNotifications(store.db, { limit: 1000 })).map((n) => n.id).sort()

    beforeEach(async () => {
      now = t0
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      await apply(oncall)
    })
    afterEach(async () => {
      await cleanup()
    })

    it('pages each level in turn, the repeat after the last, then stops as exhausted', async () => {
      const started = await start(incident(1), 'main')
      expect(started).toMatchObject({ started: true, firstStep: { level: 1, dueAt: t0 } })
      const timeline: string[] = []
      for (const at of [0, 5, 15, 30, 35, 45, 60]) {
        now = t0 + at * minute
        for (const result of await runDue()) {
          expect(result.kind).toBe('paged')
          if (result.kind !== 'paged') continue
          timeline.push(
            `${at}m: ${result.outcome.users.join('+') || 'nobody'}${result.next ? ` → level ${result.next.level} at ${(result.next.dueAt - t0) / minute}m` : ' → end'}`,
          )
        }
      }
      expect(timeline).toEqual([
        '0m: ann → level 2 at 5m',
        '5m: bob+dee → level 3 at 15m',
        '15m: cid → level 1 at 30m',
        '30m: ann → level 2 at 35m',
        '35m: bob+dee → level 3 at 45m',
        '45m: cid → end',
      ])
      expect((await getEscalation(store.db, 1))?.status).toBe('exhausted')
      const steps = await listEscalationSteps(store.db, { incidentId: 1 })
      expect(steps.map((s) => [s.level, s.repeatIndex, s.status])).toEqual([
        [1, 0, 'done'],
        [2, 0, 'done'],
        [3, 0, 'done'],
        [1, 1, 'done'],
        [2, 1, 'done'],
        [3, 1, 'done'],
      ])
      expect(steps[2]?.outcome).toEqual({
        users: ['cid'],
        notifications: [],
        unresolved: ['user cid has no channels'],
        note: 'nobody could be paged at this level',
      })
      const ids = steps.map((s) => s.id)
      expect(await pages()).toEqual(
        [
          `escalation:${ids[0]}:ann:mail-ann`,
          `escalation:${ids[0]}:ann:pager-ann`,
          `escalation:${ids[1]}:bob:pager-bob`,
          `escalation:${ids[1]}:dee:pager-dee`,
          `escalation:${ids[3]}:ann:mail-ann`,
          `escalation:${ids[3]}:ann:pager-ann`,
          `escalation:${ids[4]}:bob:pager-bob`,
          `escalation:${ids[4]}:dee:pager-dee`,
        ].sort(),
      )
    })

    it('does not page a level before it is due', async () => {
      await start(incident(1), 'main')
      await runDue()
      now = t0 + 5 * minute - 1
      expect(await runDue()).toEqual([])
      now = t0 + 5 * minute
      expect(await runDue()).toHaveLength(1)
    })

    it('writes messages with the incident, the level, and signed acknowledge and resolve links', async () => {
      await start(incident(42), 'main')
      await runDue('node-a', true)
      const [message] = (await listNotifications(store.db)).filter(
        (n) => n.channelSlug === 'pager-ann',
      )
      const step = (await listEscalationSteps(store.db))[0]
      expect(message?.message).toMatchObject({
        id: `escalation:${step?.id}:ann:pager-ann`,
        status: 'firing',
        severity: 'critical',
        title: '[#42] db-main is down (42)',
        fingerprint: 'incident:42',
        labels: { incident: '42', service: 'db-main', team: 'dba' },
        annotations: {
          escalationPolicy: 'main',
          escalationLevel: '1',
          escalationRepeat: '0',
          escalationDueAt: new Date(t0).toISOString(),
          pagedUser: 'ann',
        },
        at: t0,
        url: 'https://keel.example.org/incidents/42',
      })
      // The outbox row holds no signed link; the dispatcher signs them from its grant as it sends.
      expect(JSON.stringify(message)).not.toContain('/a/')
      expect(message?.linkGrant).toEqual({
        incidentId: 42,
        recipient: 'ann',
        actions: ['ack', 'resolve'],
      })
      const actions =
        messageToSend(message!, { publicUrl: 'https://keel.example.org', key }, t0).actions ?? []
      expect(actions.map((a) => a.kind)).toEqual(['acknowledge', 'resolve'])
      for (const action of actions) {
        expect(action.url.startsWith('https://keel.example.org/a/')).toBe(true)
        // Channels render the links from `actions`, so the text does not repeat them.
        expect(message?.message.text).not.toContain(action.url)
        expect(verifyAckLink(action.url, key, t0)).toMatchObject({
          ok: true,
          claims: {
            incidentId: 42,
            user: 'ann',
            action: action.kind === 'acknowledge' ? 'ack' : 'resolve',
          },
        })
      }
    })

    it('stops paging when stopped, and a step claimed before the stop pages nobody', async () => {
      await start(incident(1), 'main')
      await runDue()
      now = t0 + 5 * minute
      const claimed = await claimDueEscalationSteps(store.db, 'node-a', now, 60_000, 10)
      expect(claimed).toHaveLength(1)
      // The incident is acknowledged between the claim and the run.
      expect(await stop(1)).toBe(1)
      const result = await runEscalationStep(store.db, claimed[0] as never, {
        owner: 'node-a',
        now,
      })
      expect(result.kind).toBe('skipped')
      expect((await getEscalation(store.db, 1))?.status).toBe('stopped')
      expect(await listEscalationSteps(store.db, { status: 'pending' })).toEqual([])
      expect((await pages()).filter((id) => id.includes(':bob:'))).toEqual([])
    })

    it('starts over as a new round after a stop, and ignores a start while escalating', async () => {
      await start(incident(1), 'main')
      expect(await start(incident(1), 'main')).toMatchObject({
        started: false,
        reason: 'the incident is already escalating',
      })
      await runDue()
      await stop(1)
      now = t0 + 20 * minute
      expect(await start(incident(1), 'main', now)).toMatchObject({
        started: true,
        escalation: { round: 1 },
      })
      await runDue()
      const steps = await listEscalationSteps(store.db, { incidentId: 1 })
      expect(steps.map((s) => [s.round, s.level, s.status])).toEqual([
        [0, 1, 'done'],
        [0, 2, 'cancelled'],
        [1, 1, 'done'],
        [1, 2, 'pending'],
      ])
      expect((await pages()).filter((id) => id.includes(':ann:pager-ann'))).toHaveLength(2)
    })

    it('never queues the same step or message twice when a step is run again', async () => {
      await start(incident(1), 'main')
      const [claimed] = await claimDueEscalationSteps(store.db, 'node-a', now, 60_000, 10)
      // Node A's lease runs out mid-step; node B claims the step and runs it first.
      now = t0 + 60_001
      const [stolen] = await claimDueEscalationSteps(store.db, 'node-b', now, 60_000, 10)
      expect(stolen?.id).toBe(claimed?.id)
      expect(
        (await runEscalationStep(store.db, stolen as never, { owner: 'node-b', now })).kind,
      ).toBe('paged')
      expect(
        (await runEscalationStep(store.db, claimed as never, { owner: 'node-a', now })).kind,
      ).toBe('skipped')
      // Even a step forced back to pending queues the same message ids and the same next step.
      await store.db
        .updateTable('escalation_steps')
        .set({ status: 'pending', lease_owner: 'node-c', lease_until: now + 1 })
        .where('id', '=', claimed?.id as number)
        .execute()
      expect(
        (await runEscalationStep(store.db, claimed as never, { owner: 'node-c', now })).kind,
      ).toBe('paged')
      expect(await pages()).toEqual([
        `escalation:${claimed?.id}:ann:mail-ann`,
        `escalation:${claimed?.id}:ann:pager-ann`,
      ])
      expect(
        await listEscalationSteps(store.db, { incidentId: 1, status: 'pending' }),
      ).toHaveLength(1)
    })

    it('rolls a failed step back whole, tries it again later, and pages once', async () => {
      const escalator = new Escalator({
        db: store.db,
        clock,
        log,
        owner: 'node-a',
        retryDelayMs: 1_000,
      })
      await start(incident(1), 'main')
      await setMeta(store.db, 'config:oncall', '{"escalationPolicies": {"main": "broken"}}')
      await escalator.start()
      await escalator.idle()
      await escalator.stop()
      const [failed] = await listEscalationSteps(store.db)
      expect(failed).toMatchObject({ status: 'pending', dueAt: t0 + 1_000, attempts: 1 })
      expect(failed?.leaseOwner).toBeUndefined()
      expect(await pages()).toEqual([])

      await apply({ ...oncall, users: { ...(oncall.users as object), eve: { name: 'Eve' } } })
      now = t0 + 1_000
      await escalator.start()
      await escalator.idle()
      await escalator.stop()
      expect(await pages()).toHaveLength(2)
      expect((await listEscalationSteps(store.db))[0]).toMatchObject({
        status: 'done',
        attempts: 2,
      })
    })

    it('skips a step that keeps failing and goes on to the next level', async () => {
      // An outbox that refuses every write makes queuing this level's messages throw every time.
      const refusing: KyselyPlugin = {
        transformQuery({ node }) {
          if (node.kind === 'InsertQueryNode' && JSON.stringify(node).includes('"notifications"')) {
            throw new Error('the outbox refuses writes')
          }
          return node
        },
        transformResult: async ({ result }) => result,
      }
      const escalator = new Escalator({
        db: store.db.withPlugin(refusing),
        clock,
        log,
        owner: 'node-a',
        maxAttempts: 1,
      })
      await start(incident(1), 'main')
      await escalator.start()
      await escalator.idle()
      await escalator.stop()
      const steps = await listEscalationSteps(store.db)
      expect(steps[0]?.status).toBe('done')
      expect(steps[0]?.outcome?.note).toMatch(/^gave up after 1 attempts/)
      expect(steps[1]).toMatchObject({ level: 2, status: 'pending' })
    })

    it('pages one team member per escalation with round robin, in turn', async () => {
      for (const id of [1, 2, 3]) {
        await start(incident(id), 'rr')
        await runDue()
      }
      const paged = (await listEscalationSteps(store.db)).map((s) => s.outcome?.users)
      expect(paged).toEqual([['bob'], ['dee'], ['bob']])
    })

    it('refuses an unknown policy and ends an escalation whose policy was removed', async () => {
      expect(await start(incident(1), 'nope')).toEqual({
        started: false,
        reason: 'escalation policy nope is not defined; nobody is paged for incident #1',
      })
      await start(incident(2), 'main')
      const { main: _main, ...rest } = oncall.escalationPolicies as Record<string, unknown>
      await apply({ ...oncall, escalationPolicies: rest, routes: {} })
      const [result] = await runDue()
      expect(result).toMatchObject({
        kind: 'paged',
        outcome: {
          users: [],
          note: 'escalation policy main is no longer defined; escalation ends',
        },
      })
      expect((await getEscalation(store.db, 2))?.status).toBe('exhausted')
    })

    it('applies incident effects: a route or the team picks the policy, stop stops', async () => {
      await store.db.transaction().execute(async (trx) => {
        await applyEscalationEffects(trx, incident(1), [{ kind: 'startEscalation' }], now)
        await applyEscalationEffects(
          trx,
          incident(2, { team: 'net' }),
          [{ kind: 'startEscalation' }],
          now,
        )
        await applyEscalationEffects(
          trx,
          incident(3, { team: 'web' }),
          [{ kind: 'startEscalation' }],
          now,
        )
        await applyEscalationEffects(
          trx,
          incident(4, { team: undefined }),
          [{ kind: 'startEscalation' }],
          now,
          { alertLabels: { team: 'dba' } },
        )
      })
      expect((await getEscalation(store.db, 1))?.policyId).toBe('main')
      expect((await getEscalation(store.db, 2))?.policyId).toBe('rr')
      expect(await getEscalation(store.db, 3)).toBeUndefined()
      expect((await getEscalation(store.db, 4))?.subject.labels).toMatchObject({ team: 'dba' })
      await store.db
        .transaction()
        .execute((trx) =>
          applyEscalationEffects(trx, incident(1), [{ kind: 'stopEscalation' }], now),
        )
      expect((await getEscalation(store.db, 1))?.status).toBe('stopped')
    })

    it('runs each step exactly once with two nodes claiming at the same time', async () => {
      for (let id = 1; id <= 12; id++) await start(incident(id), 'main')
      const nodes = ['node-a', 'node-b'].map(
        (owner) => new Escalator({ db: store.db, clock, log, owner, batchSize: 3 }),
      )
      await Promise.all(nodes.map((node) => node.start()))
      await Promise.all(nodes.map((node) => node.idle()))
      await Promise.all(nodes.map((node) => node.stop()))
      const steps = await listEscalationSteps(store.db)
      expect(
        steps.filter((s) => s.level === 1).every((s) => s.status === 'done' && s.attempts === 1),
      ).toBe(true)
      expect(steps.filter((s) => s.level === 2)).toHaveLength(12)
      expect(await pages()).toHaveLength(24)
    })

    it('leaves nothing pending when a stop and a step of the same incident race', async () => {
      for (let id = 1; id <= 8; id++) await start(incident(id), 'main')
      const claimed = await claimDueEscalationSteps(store.db, 'node-a', now, 60_000, 100)
      await Promise.all(
        claimed.flatMap((step) => [
          runEscalationStep(store.db, step, { owner: 'node-a', now }),
          stop(step.incidentId),
        ]),
      )
      expect(await listEscalationSteps(store.db, { status: 'pending' })).toEqual([])
    })
  })
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import type { Store } from './dialect.js'
import {
  advanceRoundRobinCursor,
  cancelPendingEscalationSteps,
  claimDueEscalationSteps,
  finishEscalationStep,
  getEscalation,
  getLeasedEscalationStep,
  insertEscalationStep,
  listEscalationSteps,
  nextEscalationStepDue,
  releaseEscalationLeases,
  releaseEscalationStep,
  saveEscalation,
  type Escalation,
  type NewEscalationStep,
} from './escalations.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)

function step(overrides: Partial<NewEscalationStep> = {}): NewEscalationStep {
  return {
    incidentId: 7,
    policyId: 'dba',
    round: 0,
    level: 1,
    repeatIndex: 0,
    dueAt: t0,
    ...overrides,
  }
}

/** The escalation store contract: every query behaves the same on every dialect. */
export function runEscalationStoreContract(kind: StoreKind): void {
  describe(`escalation store contract on ${kind.name}`, () => {
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

    it('saves an escalation, reads it back and replaces it', async () => {
      const escalation: Escalation = {
        incidentId: 7,
        policyId: 'dba',
        round: 0,
        status: 'active',
        subject: { title: 'db down', severity: 'critical', team: 'dba', labels: { a: 'b' } },
        startedAt: t0,
        updatedAt: t0,
      }
      expect(await getEscalation(store.db, 7)).toBeUndefined()
      await saveEscalation(store.db, escalation)
      expect(await getEscalation(store.db, 7)).toEqual(escalation)
      await saveEscalation(store.db, {
        ...escalation,
        status: 'stopped',
        round: 1,
        updatedAt: t0 + 1,
      })
      expect(await getEscalation(store.db, 7)).toEqual({
        ...escalation,
        status: 'stopped',
        round: 1,
        updatedAt: t0 + 1,
      })
      const locked = await store.db
        .transaction()
        .execute((trx) => getEscalation(trx, 7, { forUpdate: true }))
      expect(locked?.round).toBe(1)
    })

    it('queues a step once per incident, round, level and repeat', async () => {
      expect(await insertEscalationStep(store.db, step(), t0)).toBe(true)
      expect(await insertEscalationStep(store.db, step({ dueAt: t0 + 5 }), t0)).toBe(false)
      expect(await insertEscalationStep(store.db, step({ level: 2 }), t0)).toBe(true)
      expect(await insertEscalationStep(store.db, step({ repeatIndex: 1 }), t0)).toBe(true)
      expect(await insertEscalationStep(store.db, step({ round: 1 }), t0)).toBe(true)
      expect(await insertEscalationStep(store.db, step({ incidentId: 8 }), t0)).toBe(true)
      const steps = await listEscalationSteps(store.db, { incidentId: 7 })
      expect(steps).toHaveLength(4)
      expect(steps[0]).toMatchObject({
        incidentId: 7,
        policyId: 'dba',
        round: 0,
        level: 1,
        repeatIndex: 0,
        dueAt: t0,
        status: 'pending',
        attempts: 0,
        createdAt: t0,
      })
      expect(steps[0]?.leaseOwner).toBeUndefined()
      expect(steps[0]?.outcome).toBeUndefined()
    })

    it('claims only due, unleased steps, oldest first, and counts attempts', async () => {
      await insertEscalationStep(store.db, step({ level: 2, dueAt: t0 - 10 }), t0)
      await insertEscalationStep(store.db, step({ level: 1, dueAt: t0 - 20 }), t0)
      await insertEscalationStep(store.db, step({ level: 3, dueAt: t0 + 1_000 }), t0)
      expect(await nextEscalationStepDue(store.db)).toBe(t0 - 20)

      const claimed = await claimDueEscalationSteps(store.db, 'node-a', t0, 60_000, 10)
      expect(claimed.map((s) => [s.level, s.leaseOwner, s.leaseUntil, s.attempts])).toEqual([
        [1, 'node-a', t0 + 60_000, 1],
        [2, 'node-a', t0 + 60_000, 1],
      ])
      expect(await claimDueEscalationSteps(store.db, 'node-b', t0, 60_000, 10)).toEqual([])
      // Leased rows count from their lease's end, so nobody polls them in a busy loop.
      expect(await nextEscalationStepDue(store.db)).toBe(t0 + 1_000)

      const again = await claimDueEscalationSteps(store.db, 'node-b', t0 + 60_001, 60_000, 10)
      expect(again.map((s) => [s.level, s.leaseOwner, s.attempts])).toEqual([
        [1, 'node-b', 2],
        [2, 'node-b', 2],
        [3, 'node-b', 1],
      ])
    })

    it('limits a claim to the batch size', async () => {
      for (let level = 1; level <= 5; level++) {
        await insertEscalationStep(store.db, step({ level, dueAt: t0 - level }), t0)
      }
      const claimed = await claimDueEscalationSteps(store.db, 'a', t0, 1_000, 2)
      expect(claimed.map((s) => s.level)).toEqual([5, 4])
    })

    it('hands a step to its lease holder only while it is pending', async () => {
      await insertEscalationStep(store.db, step(), t0)
      const [claimed] = await claimDueEscalationSteps(store.db, 'a', t0, 1_000, 1)
      const id = claimed?.id as number
      expect((await getLeasedEscalationStep(store.db, id, 'a'))?.id).toBe(id)
      expect(await getLeasedEscalationStep(store.db, id, 'b')).toBeUndefined()
      await finishEscalationStep(store.db, id, 'done', t0 + 5, {
        users: ['ann'],
        notifications: ['escalation:1:ann:pager'],
        unresolved: [],
      })
      expect(await getLeasedEscalationStep(store.db, id, 'a')).toBeUndefined()
      const [done] = await listEscalationSteps(store.db)
      expect(done).toMatchObject({
        status: 'done',
        doneAt: t0 + 5,
        outcome: { users: ['ann'], notifications: ['escalation:1:ann:pager'], unresolved: [] },
      })
      expect(done?.leaseOwner).toBeUndefined()
    })

    it('releases a failed step for a later retry, and a restarted node’s leases at once', async () => {
      await insertEscalationStep(store.db, step(), t0)
      await insertEscalationStep(store.db, step({ level: 2 }), t0)
      const claimed = await claimDueEscalationSteps(store.db, 'a', t0, 60_000, 10)
      await releaseEscalationStep(store.db, claimed[0]?.id as number, 'b', t0 + 10)
      await releaseEscalationStep(store.db, claimed[0]?.id as number, 'a', t0 + 10)
      const steps = await listEscalationSteps(store.db)
      expect(steps.map((s) => [s.dueAt, s.leaseOwner ?? null])).toEqual([
        [t0 + 10, null],
        [t0, 'a'],
      ])
      expect(await releaseEscalationLeases(store.db, 'b')).toBe(0)
      expect(await releaseEscalationLeases(store.db, 'a')).toBe(1)
      expect(
        (await claimDueEscalationSteps(store.db, 'a', t0, 60_000, 10)).map((s) => s.level),
      ).toEqual([2])
    })

    it('cancels only the pending steps of one incident', async () => {
      await insertEscalationStep(store.db, step(), t0)
      await insertEscalationStep(store.db, step({ level: 2 }), t0)
      await insertEscalationStep(store.db, step({ incidentId: 8 }), t0)
      const [first] = await claimDueEscalationSteps(store.db, 'a', t0, 1_000, 1)
      await finishEscalationStep(store.db, first?.id as number, 'done', t0)
      expect(await cancelPendingEscalationSteps(store.db, 7, t0 + 1)).toBe(1)
      expect(await cancelPendingEscalationSteps(store.db, 7, t0 + 2)).toBe(0)
      const all = await listEscalationSteps(store.db)
      expect(all.map((s) => [s.incidentId, s.level, s.status])).toEqual([
        [7, 1, 'done'],
        [7, 2, 'cancelled'],
        [8, 1, 'pending'],
      ])
      expect(await listEscalationSteps(store.db, { status: 'pending' })).toHaveLength(1)
      expect(await nextEscalationStepDue(store.db)).toBe(t0)
    })

    it('advances a round-robin cursor per policy and level, one turn per call', async () => {
      expect(await advanceRoundRobinCursor(store.db, 'dba', 1)).toBe(0)
      expect(await advanceRoundRobinCursor(store.db, 'dba', 1)).toBe(1)
      expect(await advanceRoundRobinCursor(store.db, 'dba', 2)).toBe(0)
      expect(await advanceRoundRobinCursor(store.db, 'net', 1)).toBe(0)
      const turns = await Promise.all(
        Array.from({ length: 6 }, () => advanceRoundRobinCursor(store.db, 'dba', 1)),
      )
      expect(turns.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7])
    })

    it('has no due step in an empty store', async () => {
      expect(await nextEscalationStepDue(store.db)).toBeUndefined()
      expect(await claimDueEscalationSteps(store.db, 'a', t0, 1_000, 10)).toEqual([])
    })
  })
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import type { Store } from './dialect.js'
import * as runs from './runbooks.js'

const t0 = Date.UTC(2026, 11, 1, 9, 0, 0)

const input = (extra: Partial<runs.RunbookRunInput> = {}): runs.RunbookRunInput => ({
  runbook: 'disk-full',
  title: 'Disk full',
  runbookSource: '---\ntitle: Disk full\n---\n',
  params: { MOUNT: '/var', NOTE: '; rm -rf /' },
  requestedBy: 'alice',
  automatic: false,
  state: { status: 'pendingApproval', stepsTaken: 0 },
  ...extra,
})

/** The runbook run store contract: every query behaves the same on every dialect. */
export function runRunbookStoreContract(kind: StoreKind): void {
  describe(`runbook run store contract on ${kind.name}`, () => {
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

    it('stores a run and reads back every field, absent ones absent', async () => {
      const run = await runs.insertRunbookRun(
        store.db,
        input({ incidentId: 7, source: '127.0.0.1' }),
        t0,
      )
      expect(run).toEqual({
        id: expect.any(Number),
        runbook: 'disk-full',
        title: 'Disk full',
        runbookSource: '---\ntitle: Disk full\n---\n',
        params: { MOUNT: '/var', NOTE: '; rm -rf /' },
        requestedBy: 'alice',
        requestedAt: t0,
        source: '127.0.0.1',
        automatic: false,
        incidentId: 7,
        status: 'pendingApproval',
        stepsTaken: 0,
        updatedAt: t0,
      })
      expect(await runs.getRunbookRun(store.db, run.id)).toEqual(run)
      expect(await runs.getRunbookRun(store.db, 999_999)).toBeUndefined()
    })

    it('moves a run only from the state the caller read (compare-and-set)', async () => {
      const run = await runs.insertRunbookRun(store.db, input(), t0)
      const running = { status: 'running' as const, currentStep: 'check', stepsTaken: 0 }
      expect(await runs.updateRunState(store.db, run.id, run, running, t0 + 1, { by: 'bob' })).toBe(
        true,
      )
      // A second approval from the stale state changes nothing.
      expect(
        await runs.updateRunState(store.db, run.id, run, running, t0 + 2, { by: 'carol' }),
      ).toBe(false)
      const done = { status: 'succeeded' as const, stepsTaken: 1 }
      expect(await runs.updateRunState(store.db, run.id, running, done, t0 + 3)).toBe(true)
      expect(await runs.getRunbookRun(store.db, run.id)).toMatchObject({
        status: 'succeeded',
        approvedBy: 'bob',
        approvedAt: t0 + 1,
        finishedAt: t0 + 3,
        stepsTaken: 1,
      })
    })

    it('records steps in order with their outputs', async () => {
      const run = await runs.insertRunbookRun(store.db, input(), t0)
      const first = await runs.insertRunStep(store.db, {
        runId: run.id,
        stepId: 'check',
        kind: 'checklist',
        status: 'done',
        actor: 'alice',
        startedAt: t0,
        finishedAt: t0,
        note: 'looked',
      })
      const second = await runs.insertRunStep(store.db, {
        runId: run.id,
        stepId: 'usage',
        kind: 'command',
        status: 'running',
        startedAt: t0 + 1,
      })
      await runs.finishRunStep(store.db, second, {
        status: 'failed',
        finishedAt: t0 + 2,
        exitCode: 3,
        summary: 'exit 3',
        output: 'no space\n',
        outputTruncated: true,
      })
      const steps = await runs.listRunSteps(store.db, run.id)
      expect(steps.map((s) => s.id)).toEqual([first, second])
      expect(steps[0]).toMatchObject({
        stepId: 'check',
        note: 'looked',
        actor: 'alice',
        outputTruncated: false,
      })
      expect(steps[1]).toMatchObject({
        stepId: 'usage',
        status: 'failed',
        exitCode: 3,
        output: 'no space\n',
        outputTruncated: true,
        finishedAt: t0 + 2,
      })
    })

    it('lists runs newest first and counts automatic starts in a window', async () => {
      await runs.insertRunbookRun(store.db, input({ automatic: true }), t0)
      await runs.insertRunbookRun(store.db, input({ automatic: true }), t0 + 10)
      await runs.insertRunbookRun(store.db, input({ incidentId: 4 }), t0 + 20)
      await runs.insertRunbookRun(store.db, input({ runbook: 'other' }), t0 + 30)
      expect(
        (await runs.listRunbookRuns(store.db, { runbook: 'disk-full' })).map((r) => r.requestedAt),
      ).toEqual([t0 + 20, t0 + 10, t0])
      expect((await runs.listRunbookRuns(store.db, { incidentId: 4 })).length).toBe(1)
      expect(await runs.automaticRunStarts(store.db, 'disk-full', t0)).toEqual([t0 + 10])
    })
  })
}

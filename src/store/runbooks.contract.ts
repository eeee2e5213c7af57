import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreKind } from '../../test/helpers/stores.js'
import { randomBytes } from 'node:crypto'
import type { Store } from './dialect.js'
import * as runs from './runbooks.js'
import { resealStoredSecrets, secretBoxFrom, SecretsPlugin, withSecrets } from './secrets.js'

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

    it('gives a step lease to one live driver at a time, renews and releases it', async () => {
      const a: runs.RunDriver = { node: 'a', host: 'h1', pid: 10, started: '5' }
      const b: runs.RunDriver = { node: 'b', host: 'h2', pid: 20 }
      const run = await runs.insertRunbookRun(
        store.db,
        input({ state: { status: 'running', currentStep: 'check', stepsTaken: 0 } }),
        t0,
      )
      const at = { currentStep: 'check' }
      expect(
        await runs.claimRunLease(store.db, run.id, { currentStep: 'other' }, a, t0, t0 + 30),
      ).toBe(false)
      expect(await runs.claimRunLease(store.db, run.id, at, a, t0, t0 + 30)).toBe(true)
      expect(await runs.claimRunLease(store.db, run.id, at, b, t0 + 10, t0 + 40)).toBe(false)
      expect(await runs.renewRunLease(store.db, run.id, b, t0 + 60)).toBe(false)
      expect(await runs.renewRunLease(store.db, run.id, a, t0 + 60)).toBe(true)
      await runs.setRunCommand(store.db, run.id, a, { pid: 11, started: '6' })
      expect(await runs.getRunLease(store.db, run.id)).toEqual({
        id: run.id,
        status: 'running',
        currentStep: 'check',
        updatedAt: t0,
        leaseOwner: 'a',
        leaseUntil: t0 + 60,
        host: 'h1',
        driverPid: 10,
        driverStarted: '5',
        commandPid: 11,
        commandStarted: '6',
      })
      expect(await runs.getRunbookRun(store.db, run.id)).toMatchObject({
        leaseOwner: 'a',
        leaseUntil: t0 + 60,
        host: 'h1',
      })
      expect((await runs.listRunLeases(store.db)).map((l) => l.id)).toEqual([run.id])
      // Past its end another driver takes it over.
      expect(await runs.claimRunLease(store.db, run.id, at, b, t0 + 61, t0 + 90)).toBe(true)
      await runs.releaseRunLease(store.db, run.id, b)
      const released = await runs.getRunLease(store.db, run.id)
      expect(released).not.toHaveProperty('leaseOwner')
      expect(released).not.toHaveProperty('commandPid')
    })

    it('interrupts a run only while its lease is the one judged dead, and keeps the step output', async () => {
      const a: runs.RunDriver = { node: 'a', host: 'h1', pid: 10 }
      const run = await runs.insertRunbookRun(
        store.db,
        input({ state: { status: 'running', currentStep: 'check', stepsTaken: 0 } }),
        t0,
      )
      await runs.claimRunLease(store.db, run.id, { currentStep: 'check' }, a, t0, t0 + 30)
      await runs.setRunCommand(store.db, run.id, a, { pid: 11 })
      const step = await runs.insertRunStep(store.db, {
        runId: run.id,
        stepId: 'check',
        kind: 'command',
        status: 'running',
        startedAt: t0,
      })
      await runs.updateRunStepOutput(store.db, step, 'so far\n', false)
      const seen = (await runs.getRunLease(store.db, run.id)) as runs.RunLease
      const to = {
        status: 'interrupted' as const,
        currentStep: 'check',
        stepsTaken: 0,
        reason: 'x',
      }
      // Renewed since it was read: the driver lives, the run is not taken from it.
      await runs.renewRunLease(store.db, run.id, a, t0 + 60)
      expect(await runs.markRunInterrupted(store.db, seen, to, t0 + 31, true)).toBe(false)
      const fresh = (await runs.getRunLease(store.db, run.id)) as runs.RunLease
      expect(await runs.markRunInterrupted(store.db, fresh, to, t0 + 61, true)).toBe(true)
      expect(await runs.markRunInterrupted(store.db, fresh, to, t0 + 61, true)).toBe(false)
      expect(await runs.interruptRunSteps(store.db, run.id, t0 + 61, 'interrupted')).toBe(1)
      await runs.updateRunStepOutput(store.db, step, 'too late', false)
      // The driver that lost its lease finishes late: the step stays interrupted.
      await runs.finishRunStep(store.db, step, { status: 'failed', finishedAt: t0 + 70 })
      expect(await runs.listRunSteps(store.db, run.id)).toMatchObject([
        { status: 'interrupted', output: 'so far\n', finishedAt: t0 + 61 },
      ])
      const kept = await runs.getRunLease(store.db, run.id)
      expect(kept).toMatchObject({ status: 'interrupted', commandPid: 11, host: 'h1' })
      expect(kept).not.toHaveProperty('leaseOwner')
      await runs.clearRunCommand(store.db, run.id, { pid: 11 })
      expect(await runs.getRunLease(store.db, run.id)).not.toHaveProperty('commandPid')
      expect(await runs.listRunLeases(store.db)).toEqual([])
    })

    it('seals secret parameters with the store key and refuses to store them without one', async () => {
      await expect(
        runs.insertRunbookRun(
          store.db,
          input({ params: { TOKEN: 'hunter22' }, secretParams: ['TOKEN'] }),
          t0,
        ),
      ).rejects.toThrow('parameter TOKEN is secret')
      const oldKey = randomBytes(32)
      const plain = store.db
      withSecrets(store, secretBoxFrom(oldKey, 'test key'), () => [])
      const run = await runs.insertRunbookRun(
        store.db,
        input({ params: { TOKEN: 'hunter22', MOUNT: '/var' }, secretParams: ['TOKEN'] }),
        t0,
      )
      expect(run.params.TOKEN).toMatch(/^enc:v1:/)
      expect(run.params.MOUNT).toBe('/var')
      expect(runs.openRunParams(store.db, run)).toEqual({ TOKEN: 'hunter22', MOUNT: '/var' })
      // `keel secrets rotate` re-seals them with the new key.
      const newKey = randomBytes(32)
      const resealed = await plain
        .transaction()
        .execute((trx) =>
          resealStoredSecrets(
            trx,
            secretBoxFrom(oldKey, 'old'),
            secretBoxFrom(newKey, 'new'),
            () => [],
          ),
        )
      expect(resealed).toBe(1)
      const rotated = (await runs.getRunbookRun(plain, run.id)) as runs.StoredRunbookRun
      expect(rotated.params.TOKEN).not.toBe(run.params.TOKEN)
      const reopened = plain.withPlugin(new SecretsPlugin(secretBoxFrom(newKey, 'new'), () => []))
      expect(runs.openRunParams(reopened, rotated)).toEqual({ TOKEN: 'hunter22', MOUNT: '/var' })
    })
  })
}

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alive } from '../../test/helpers/processes.js'
import { storeKinds } from '../../test/helpers/stores.js'
import { secretFieldsOf } from '../config/redact.js'
import { NotAllowedError } from '../core/errors.js'
import { thisHost } from '../runbooks/process-group.js'
import { listAudit } from '../store/audit.js'
import type { Store } from '../store/dialect.js'
import { insertIncident } from '../store/incidents.js'
import {
  claimRunLease,
  getRunLease,
  insertRunbookRun,
  insertRunStep,
  listRunSteps,
  setRunCommand,
  updateRunState,
  updateRunStepOutput,
  type RunDriver,
} from '../store/runbooks.js'
import { secretBoxFrom, withSecrets } from '../store/secrets.js'
import type { Actor, ServiceContext } from './context.js'
import {
  cancelRunbookRun,
  getRunbookRunDetail,
  listRunbookRunPage,
  localRunDriver,
  recoverOrphanedRuns,
  resumeRunbookRun,
  RunOutputHub,
  startRunbookRun,
  type RunbookSettings,
} from './runbooks.js'

const t0 = Date.UTC(2026, 11, 8, 1, 0, 0)

const twoSteps = `---
title: Two steps
parameters: [{ name: MARK, required: true }]
---
## Step: first — Print something
\`\`\`keel-command
run: echo one
\`\`\`

## Step: second — Leave a mark
\`\`\`keel-command
run: touch "$MARK"
\`\`\`
`

const hang = `---
title: Hang
parameters: [{ name: PIDFILE, required: true }]
---
## Step: hang — Hang until stopped
\`\`\`keel-command
run: |
  sleep 1000 &
  echo $! > "$PIDFILE"
  wait
timeout: 10m
\`\`\`
`

const secret = `---
title: Use a token
parameters:
  - { name: TOKEN, secret: true, required: true, pattern: '[a-z0-9-]+' }
  - { name: OUT, required: true }
---
## Step: use — Use it
\`\`\`keel-command
run: |
  printf '%s' "$TOKEN" > "$OUT"
  tr '\\0' ' ' < /proc/$$/cmdline > "$OUT.argv"
  echo "token=$TOKEN"
\`\`\`
`

async function until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A real process group as a command step leaves it: a shell leading it and a `sleep` child. */
async function leftoverGroup(dir: string): Promise<{ shell: number; child: number }> {
  const pidfile = join(dir, `child-${randomBytes(4).toString('hex')}`)
  const shell = spawn('/bin/sh', ['-c', `sleep 1000 & echo $! > "${pidfile}"; wait`], {
    detached: true,
    stdio: 'ignore',
  })
  await until(
    'the child pid file',
    () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').endsWith('\n'),
  )
  return { shell: shell.pid as number, child: Number(readFileSync(pidfile, 'utf8')) }
}

/** The pid of a process that has exited: a driver that died. */
async function deadPid(): Promise<number> {
  const child = spawn('/bin/true')
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(
    `runbook runs whose node died, on ${kind.name}`,
    () => {
      let store: Store
      let cleanup: () => Promise<void>
      let dir: string
      let now = t0
      let settings: RunbookSettings
      const clock = { now: () => now }
      const ctx = (actor: Actor): ServiceContext => ({ db: store.db, clock, actor })
      const alice: Actor = { name: 'alice', role: 'responder' }

      beforeEach(async () => {
        const created = await kind.create()
        store = created.store
        cleanup = created.cleanup
        withSecrets(store, secretBoxFrom(randomBytes(32), 'test key'), secretFieldsOf)
        dir = mkdtempSync(join(tmpdir(), 'keel-recovery-'))
        writeFileSync(join(dir, 'two-steps.md'), twoSteps)
        writeFileSync(join(dir, 'secret.md'), secret)
        writeFileSync(join(dir, 'hang.md'), hang)
        now = t0
        settings = { paths: [dir], hub: new RunOutputHub(), driver: localRunDriver('node-b') }
      })
      afterEach(async () => {
        await cleanup()
        rmSync(dir, { recursive: true, force: true })
      })

      /** A run of two-steps as a node leaves it mid-step: leased, its step running with output. */
      async function runMidStep(driver: RunDriver, leaseUntil: number) {
        const mark = join(dir, 'mark')
        const run = await insertRunbookRun(
          store.db,
          {
            runbook: 'two-steps',
            title: 'Two steps',
            runbookSource: twoSteps,
            params: { MARK: mark },
            requestedBy: 'alice',
            automatic: false,
            state: { status: 'running', currentStep: 'first', stepsTaken: 0 },
          },
          t0,
        )
        expect(
          await claimRunLease(store.db, run.id, { currentStep: 'first' }, driver, t0, leaseUntil),
        ).toBe(true)
        const row = await insertRunStep(store.db, {
          runId: run.id,
          stepId: 'first',
          kind: 'command',
          status: 'running',
          actor: 'keel',
          startedAt: t0,
        })
        await updateRunStepOutput(store.db, row, 'half way\n', false)
        return { run, mark }
      }

      it('interrupts a run whose lease ran out on another host, keeps its output, and resumes from the next step', async () => {
        const nodeA: RunDriver = { node: 'node-a', host: 'other-host', pid: 4242, started: '1' }
        const { run, mark } = await runMidStep(nodeA, t0 + 30_000)
        await setRunCommand(store.db, run.id, nodeA, { pid: 4343, started: '2' })

        now = t0 + 10_000
        expect(await recoverOrphanedRuns({ db: store.db, clock }, settings)).toEqual([])
        expect((await getRunbookRunDetail(ctx(alice), run.id)).status).toBe('running')

        now = t0 + 31_000
        expect(await recoverOrphanedRuns({ db: store.db, clock }, settings)).toEqual([
          { runId: run.id, action: 'interrupted', step: 'first', killed: false },
        ])
        const detail = await getRunbookRunDetail(ctx(alice), run.id)
        expect(detail).toMatchObject({ status: 'interrupted', currentStep: 'first' })
        expect(detail.reason).toContain('node-a on other-host')
        expect(detail.steps).toMatchObject([
          { stepId: 'first', status: 'interrupted', output: 'half way\n' },
        ])
        // The group lives on the other host: its record stays for that host's node to kill it.
        expect(await getRunLease(store.db, run.id)).toMatchObject({
          commandPid: 4343,
          host: 'other-host',
        })
        expect(await recoverOrphanedRuns({ db: store.db, clock }, settings)).toEqual([])
        const [interrupt] = await listAudit(store.db, { action: 'runbook.interrupt' })
        expect(interrupt).toMatchObject({ actor: 'keel', objectId: String(run.id) })

        await expect(
          resumeRunbookRun(ctx(alice), settings, run.id, { from: 'later' }),
        ).rejects.toThrow('`from` must be next')
        const resumed = await resumeRunbookRun(ctx(alice), settings, run.id, { from: 'next' })
        expect(resumed.run).toMatchObject({ status: 'running', currentStep: 'second' })
        expect(await resumed.settled).toMatchObject({ status: 'succeeded' })
        expect(existsSync(mark)).toBe(true)
        expect((await listRunSteps(store.db, run.id)).map((s) => [s.stepId, s.status])).toEqual([
          ['first', 'interrupted'],
          ['second', 'done'],
        ])
        const [resume] = await listAudit(store.db, { action: 'runbook.resume' })
        expect(resume).toMatchObject({
          actor: 'alice',
          details: { from: 'next', interrupted: 'first' },
        })
        await expect(resumeRunbookRun(ctx(alice), settings, run.id)).rejects.toThrow(
          'only an interrupted run is resumed',
        )
      })

      it('sees a dead driver on its own host at once and kills the process group it left', async () => {
        const group = await leftoverGroup(dir)
        const dead: RunDriver = { node: 'node-b', host: thisHost(), pid: await deadPid() }
        // The lease would hold for an hour: only the dead process tells.
        const { run } = await runMidStep(dead, t0 + 3_600_000)
        await setRunCommand(store.db, run.id, dead, {
          pid: group.shell,
          started:
            readFileSync(`/proc/${group.shell}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '',
        })
        expect(alive(group.child)).toBe(true)

        expect(await recoverOrphanedRuns({ db: store.db, clock }, settings)).toEqual([
          { runId: run.id, action: 'interrupted', step: 'first', killed: true },
        ])
        await until('the leftover group to die', () => !alive(group.shell) && !alive(group.child))
        expect(await getRunLease(store.db, run.id)).not.toHaveProperty('commandPid')

        const retried = await resumeRunbookRun(ctx(alice), settings, run.id, { from: 'retry' })
        expect(await retried.settled).toMatchObject({ status: 'succeeded' })
        expect((await listRunSteps(store.db, run.id)).map((s) => [s.stepId, s.status])).toEqual([
          ['first', 'interrupted'],
          ['first', 'done'],
          ['second', 'done'],
        ])
      })

      it('cancelling kills a command that another process on this host runs for the run', async () => {
        const group = await leftoverGroup(dir)
        // Another live Keel process on this host (the CLI, a second node) drives the run.
        const other: RunDriver = { node: 'cli', host: thisHost(), pid: group.shell }
        const { run } = await runMidStep(other, t0 + 30_000)
        await setRunCommand(store.db, run.id, other, {
          pid: group.shell,
          started:
            readFileSync(`/proc/${group.shell}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '',
        })
        await cancelRunbookRun(ctx(alice), run.id, 'wrong host', settings)
        await until(
          'the cancelled command to die',
          () => !alive(group.shell) && !alive(group.child),
        )
        expect((await getRunbookRunDetail(ctx(alice), run.id)).status).toBe('cancelled')
      })

      it('stops a step (its whole group) when another node cancels the run in the store', async () => {
        settings.watchMs = 50
        const pidfile = join(dir, 'hang-pid')
        const started = await startRunbookRun(ctx(alice), settings, 'hang', {
          params: { PIDFILE: pidfile },
        })
        if (started.dryRun) throw new Error('expected a run')
        await until(
          'the child pid file',
          () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').endsWith('\n'),
        )
        const child = Number(readFileSync(pidfile, 'utf8'))
        // Another node's cancel reaches this one only through the store.
        expect(
          await updateRunState(
            store.db,
            started.run.id,
            { status: 'running', currentStep: 'hang' },
            { status: 'cancelled', stepsTaken: 0, reason: 'cancelled on node-a' },
            now,
          ),
        ).toBe(true)
        expect(await started.settled).toMatchObject({ status: 'cancelled' })
        await until('the cancelled command to die', () => !alive(child))
        expect(await listRunSteps(store.db, started.run.id)).toMatchObject([
          { stepId: 'hang', status: 'failed', summary: 'killed by SIGKILL' },
        ])
        expect(await getRunLease(store.db, started.run.id)).not.toHaveProperty('leaseOwner')
      })

      it('seals secret parameters, shows them as <redacted> everywhere, and passes them only in the environment', async () => {
        const value = `tok-${randomBytes(8).toString('hex')}`
        const out = join(dir, 'token')
        const plan = await startRunbookRun(ctx(alice), settings, 'secret', {
          params: { TOKEN: value, OUT: out },
          dryRun: true,
        })
        expect(JSON.stringify(plan)).not.toContain(value)
        expect(JSON.stringify(plan)).toContain('<redacted>')
        const refused = startRunbookRun(ctx(alice), settings, 'secret', {
          params: { TOKEN: `${value}!`, OUT: out },
        })
        await expect(refused).rejects.toThrow('parameter TOKEN must match')
        await expect(refused).rejects.not.toThrow(value)

        const started = await startRunbookRun(ctx(alice), settings, 'secret', {
          params: { TOKEN: value, OUT: out },
        })
        if (started.dryRun) throw new Error('expected a run')
        const settled = await started.settled
        expect(settled.status).toBe('succeeded')
        // The command got it in its environment, and not in its argv.
        expect(readFileSync(out, 'utf8')).toBe(value)
        expect(readFileSync(`${out}.argv`, 'utf8')).not.toContain(value)

        const shown = [
          started.run,
          settled,
          await getRunbookRunDetail(ctx(alice), started.run.id),
          await listRunbookRunPage(ctx(alice), { runbook: 'secret' }),
          await listAudit(store.db, { limit: 1000 }),
        ]
        for (const view of shown) expect(JSON.stringify(view)).not.toContain(value)
        expect(started.run.params.TOKEN).toBe('<redacted>')
        const detail = await getRunbookRunDetail(ctx(alice), started.run.id)
        expect(detail.steps[0]?.output).toContain('token=<redacted>')
        // Stored sealed, as other secrets are.
        const raw = await store.db
          .selectFrom('runbook_runs')
          .select('params')
          .where('id', '=', started.run.id)
          .executeTakeFirstOrThrow()
        expect(raw.params).not.toContain(value)
        expect(JSON.parse(raw.params).TOKEN).toMatch(/^enc:v1:/)
        const steps = await store.db.selectFrom('runbook_run_steps').selectAll().execute()
        expect(JSON.stringify(steps)).not.toContain(value)
      })

      it('refuses a team-scoped caller a run attached to another team’s incident', async () => {
        const incident = async (team: string) =>
          (await insertIncident(
            store.db,
            {
              title: `${team} down`,
              severity: 'critical',
              status: 'triggered',
              roles: {},
              team,
              groupKey: `g-${team}`,
              createdAt: t0,
              autoResolve: true,
            },
            t0,
          ))!.id
        const web = await incident('web')
        const dba = await incident('dba')
        const scoped: Actor = { name: 'user:ann', role: 'operator', teams: { dba: 'operator' } }
        const params = { MARK: join(dir, 'mark') }
        await expect(
          startRunbookRun(ctx(scoped), settings, 'two-steps', { params, incidentId: web }),
        ).rejects.toThrow(/scoped to team dba; incident #\d+ belongs to team web/)
        await expect(
          startRunbookRun(ctx(scoped), settings, 'two-steps', { params, incidentId: web }),
        ).rejects.toBeInstanceOf(NotAllowedError)
        const own = await startRunbookRun(ctx(scoped), settings, 'two-steps', {
          params,
          incidentId: dba,
        })
        if (own.dryRun) throw new Error('expected a run')
        expect(await own.settled).toMatchObject({ status: 'succeeded', incidentId: dba })
        // Unscoped callers are not limited by team.
        const unscoped = await startRunbookRun(ctx(alice), settings, 'two-steps', {
          params,
          incidentId: web,
        })
        if (unscoped.dryRun) throw new Error('expected a run')
        await unscoped.settled
        expect(await listRunbookRunPage(ctx(alice), { incidentId: web })).toHaveLength(1)
        // Nor may it act on a run attached to the other team's incident.
        await expect(cancelRunbookRun(ctx(scoped), unscoped.run.id, 'mine now')).rejects.toThrow(
          /incident #\d+ belongs to team web/,
        )
        await expect(resumeRunbookRun(ctx(scoped), settings, unscoped.run.id)).rejects.toThrow(
          /incident #\d+ belongs to team web/,
        )
      })
    },
  )
}

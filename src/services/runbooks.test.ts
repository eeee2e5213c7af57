import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alive } from '../../test/helpers/processes.js'
import { freshLocation } from '../../test/helpers/stores.js'
import { listAudit } from '../store/audit.js'
import { openStore, type Store } from '../store/dialect.js'
import { insertIncident, listTimeline } from '../store/incidents.js'
import { listRunSteps } from '../store/runbooks.js'
import type { Actor, ServiceContext } from './context.js'
import {
  approveRunbookRun,
  cancelRunbookRun,
  RunOutputHub,
  startAutoRemediation,
  startRunbookRun,
  submitRunStep,
  type RunbookSettings,
} from './runbooks.js'

const t0 = Date.UTC(2026, 11, 6, 4, 0, 0)
const clock = { now: () => t0 }
const handbook = fileURLToPath(new URL('../../examples/handbook/runbooks/', import.meta.url))

const files: Record<string, string> = {
  'echo-param.md': `---
title: Echo a parameter
parameters:
  - { name: VALUE, required: true }
  - { name: OUT, required: true }
---
## Step: write — Write the value to a file
\`\`\`keel-command
run: |
  printf '%s' "$VALUE" > "$OUT"
  printf '%s' "$KEEL_PARAM_VALUE" > "$OUT.env"
  echo $VALUE
  echo "wrote $(wc -c < "$OUT") bytes"
\`\`\`
`,
  'slow.md': `---
title: Slow
parameters: [{ name: PIDFILE, required: true }]
---
## Step: hang — Hang with a child
\`\`\`keel-command
run: |
  sleep 30 &
  echo $! > "$PIDFILE"
  echo started
  wait
timeout: 300ms
\`\`\`
`,
  'hang.md': `---
title: Hang
parameters: [{ name: PIDFILE, required: true }]
---
## Step: hang — Hang until cancelled
\`\`\`keel-command
run: |
  sleep 60 &
  echo $! > "$PIDFILE"
  wait
timeout: 60s
\`\`\`
`,
  'background.md': `---
title: Leave a child behind
parameters: [{ name: PIDFILE, required: true }]
---
## Step: spawn — Start a child and exit
\`\`\`keel-command
run: |
  sleep 1000 &
  echo $! > "$PIDFILE"
  echo left it running
\`\`\`
`,
  'tree.md': `---
title: Tree
parameters: [{ name: URL_PART, default: "a b" }, { name: PORT, type: number, required: true }]
---
## Step: ask — Is it down?
\`\`\`keel-decision
question: Is the service down?
answers:
  - { label: "Yes", next: probe }
  - { label: "No", next: end }
\`\`\`

## Step: probe — Ask the health endpoint
\`\`\`keel-http
url: http://127.0.0.1:{{PORT}}/health/{{URL_PART}}
expectStatus: 200
\`\`\`

## Step: fail — Fail on purpose
\`\`\`keel-command
run: "echo broken >&2; exit 3"
\`\`\`

## Step: never — Not reached
- [ ] nothing
`,
  'wipe.md': `---
title: Wipe a cache
autoRun: { enabled: true, maxRunsPerHour: 2 }
parameters: [{ name: MARK, required: true }]
---
## Step: confirm — Confirm the cache host
- [ ] The cache is drained

## Step: wipe — Wipe it
\`\`\`keel-command
run: touch "$MARK"
dangerous: true
\`\`\`
`,
  'auto.md': `---
title: Restart a worker
autoRun: { enabled: true, maxRunsPerHour: 2 }
---
## Step: restart — Restart
\`\`\`keel-command
run: echo restarted
\`\`\`
`,
}

const actor = (name: string, role: Actor['role']): Actor => ({ name, role })

describe('running runbooks with real commands', () => {
  let store: Store
  let drop: () => Promise<void>
  let dir: string
  let settings: RunbookSettings
  let server: Server
  let port: number
  const requests: string[] = []
  const ctx = (who: Actor): ServiceContext => ({ db: store.db, clock, actor: who })
  const alice = actor('alice', 'responder')

  beforeAll(async () => {
    const fresh = await freshLocation('sqlite')
    drop = fresh.drop
    store = await openStore(fresh.location)
    dir = mkdtempSync(join(tmpdir(), 'keel-runbooks-'))
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    settings = { paths: [dir, handbook], hub: new RunOutputHub() }
    server = createServer((req, res) => {
      requests.push(req.url ?? '')
      res.writeHead(200).end('healthy')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await store.close()
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  const hostile = [
    '; touch CANARY',
    '$(touch CANARY)',
    '`touch CANARY`',
    '"; touch CANARY; echo "',
    "'; touch CANARY; echo '",
    'x\ntouch CANARY\n',
    '$(rm -rf /) && touch CANARY || touch CANARY',
    '| touch CANARY',
    '${IFS}touch${IFS}CANARY',
  ]

  it.each(hostile)('passes %j to the command as inert data', async (template) => {
    const work = mkdtempSync(join(tmpdir(), 'keel-inject-'))
    try {
      const canary = join(work, 'canary')
      const value = template.replaceAll('CANARY', canary)
      const out = join(work, 'out')
      const started = await startRunbookRun(ctx(alice), settings, 'echo-param', {
        params: { VALUE: value, OUT: out },
      })
      if (started.dryRun) throw new Error('expected a run')
      const run = await started.settled
      expect(run.status).toBe('succeeded')
      expect(readFileSync(out, 'utf8')).toBe(value)
      expect(readFileSync(`${out}.env`, 'utf8')).toBe(value)
      expect(existsSync(canary)).toBe(false)
      const [step] = await listRunSteps(store.db, run.id)
      expect(step).toMatchObject({ stepId: 'write', status: 'done', exitCode: 0 })
      expect(step?.output).toContain(`wrote ${Buffer.byteLength(value)} bytes`)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  })

  it('kills the whole process group at the timeout and fails the run', async () => {
    const work = mkdtempSync(join(tmpdir(), 'keel-slow-'))
    const pidfile = join(work, 'pid')
    const started = await startRunbookRun(ctx(alice), settings, 'slow', {
      params: { PIDFILE: pidfile },
    })
    if (started.dryRun) throw new Error('expected a run')
    const run = await started.settled
    expect(run.status).toBe('failed')
    expect(run.reason).toContain('timed out after 300 ms')
    const child = Number(readFileSync(pidfile, 'utf8'))
    expect(alive(child)).toBe(false)
    rmSync(work, { recursive: true, force: true })
  })

  it('ends what a command left running in the background when its step ends', async () => {
    const work = mkdtempSync(join(tmpdir(), 'keel-background-'))
    const pidfile = join(work, 'pid')
    const started = await startRunbookRun(ctx(alice), settings, 'background', {
      params: { PIDFILE: pidfile },
    })
    if (started.dryRun) throw new Error('expected a run')
    expect(await started.settled).toMatchObject({ status: 'succeeded' })
    const child = Number(readFileSync(pidfile, 'utf8'))
    for (let i = 0; i < 500 && alive(child); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(alive(child)).toBe(false)
    rmSync(work, { recursive: true, force: true })
  })

  it('cancelling a run kills the command it is running', async () => {
    const work = mkdtempSync(join(tmpdir(), 'keel-hang-'))
    const pidfile = join(work, 'pid')
    const started = await startRunbookRun(ctx(alice), settings, 'hang', {
      params: { PIDFILE: pidfile },
    })
    if (started.dryRun) throw new Error('expected a run')
    for (let i = 0; i < 500 && !existsSync(pidfile); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const child = Number(readFileSync(pidfile, 'utf8'))
    await cancelRunbookRun(ctx(actor('bob', 'responder')), started.run.id, 'wrong host')
    const run = await started.settled
    expect(run).toMatchObject({ status: 'cancelled', reason: 'wrong host' })
    expect(alive(child)).toBe(false)
    const [step] = await listRunSteps(store.db, run.id)
    expect(step).toMatchObject({ stepId: 'hang', status: 'failed', summary: 'killed by SIGKILL' })
    rmSync(work, { recursive: true, force: true })
  })

  it('walks a decision into an HTTP call, streams output live, and records a failing command', async () => {
    const started = await startRunbookRun(ctx(alice), settings, 'tree', { params: { PORT: port } })
    if (started.dryRun) throw new Error('expected a run')
    expect(await started.settled).toMatchObject({ status: 'running', currentStep: 'ask' })
    await expect(
      submitRunStep(ctx(alice), settings, started.run.id, 'ask', { answer: 'perhaps' }),
    ).rejects.toThrow('choose one of 1. Yes, 2. No')
    const chunks: string[] = []
    const unsubscribe = settings.hub.subscribe(started.run.id, (event) => {
      if (event.type === 'output') chunks.push(event.chunk)
    })
    const answered = await submitRunStep(ctx(alice), settings, started.run.id, 'ask', {
      answer: 'yes',
      note: 'pager says so',
    })
    const run = await answered.settled
    unsubscribe()
    expect(requests).toContain('/health/a%20b')
    expect(run).toMatchObject({ status: 'failed', reason: 'step `fail` failed: exit 3' })
    expect(chunks.join('')).toContain('broken')
    const steps = await listRunSteps(store.db, run.id)
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([
      ['ask', 'done'],
      ['probe', 'done'],
      ['fail', 'failed'],
    ])
    expect(steps[0]).toMatchObject({ answer: 'Yes', note: 'pager says so', actor: 'alice' })
    expect(steps[1]).toMatchObject({ httpStatus: 200, output: 'healthy' })
    expect(steps[2]).toMatchObject({ exitCode: 3, output: 'broken\n' })
    const audit = await listAudit(store.db, { objectType: 'runbookRun', objectId: String(run.id) })
    expect(audit.map((a) => a.action).reverse()).toEqual([
      'runbook.start',
      'runbook.step',
      'runbook.step',
      'runbook.step',
      'runbook.finish',
    ])
  })

  it('refuses bad parameters with one message per problem', async () => {
    await expect(
      startRunbookRun(ctx(alice), settings, 'tree', { params: { PORT: 'eighty', X: 1 } }),
    ).rejects.toThrow(/unknown parameter "X".*PORT must be a number/)
  })

  it('holds a dangerous run for a second person with the approve role, then runs it on the incident timeline', async () => {
    const incident = await insertIncident(
      store.db,
      {
        title: 'cache full',
        severity: 'critical',
        status: 'triggered',
        roles: {},
        groupKey: 'cache',
        createdAt: t0,
        autoResolve: true,
      },
      t0,
    )
    const work = mkdtempSync(join(tmpdir(), 'keel-wipe-'))
    const mark = join(work, 'wiped')
    const started = await startRunbookRun(ctx(alice), settings, 'wipe', {
      params: { MARK: mark },
      incidentId: incident!.id,
    })
    if (started.dryRun) throw new Error('expected a run')
    expect(started.run.status).toBe('pendingApproval')
    await expect(
      approveRunbookRun(ctx(actor('alice', 'admin')), settings, started.run.id),
    ).rejects.toThrow('cannot approve it')
    await expect(
      approveRunbookRun(ctx(actor('bob', 'responder')), settings, started.run.id),
    ).rejects.toThrow('needs role operator')
    const approved = await approveRunbookRun(
      ctx(actor('carol', 'operator')),
      settings,
      started.run.id,
    )
    expect(await approved.settled).toMatchObject({
      status: 'running',
      currentStep: 'confirm',
      approvedBy: 'carol',
    })
    expect(existsSync(mark)).toBe(false)
    const ticked = await submitRunStep(ctx(alice), settings, started.run.id, 'confirm', {
      note: 'drained',
    })
    expect(await ticked.settled).toMatchObject({ status: 'succeeded' })
    expect(existsSync(mark)).toBe(true)
    const timeline = await listTimeline(store.db, incident!.id)
    expect(timeline.map((e) => e.text)).toEqual([
      expect.stringContaining('waits for a second person to approve'),
      expect.stringContaining('approved by carol'),
      expect.stringContaining('succeeded'),
    ])
    rmSync(work, { recursive: true, force: true })
  })

  it('a dry run shows the exact script and environment and runs nothing', async () => {
    const result = await startRunbookRun(ctx(alice), settings, 'wipe', {
      params: { MARK: 'marker; rm -rf /' },
      dryRun: true,
    })
    expect(result.dryRun).toBe(true)
    if (!result.dryRun) return
    expect(result.plan.needsApproval).toBe(true)
    expect(result.plan.steps[1]?.command).toEqual({
      shell: '/bin/sh',
      script: 'touch "$MARK"',
      env: { MARK: 'marker; rm -rf /', KEEL_PARAM_MARK: 'marker; rm -rf /' },
      timeoutMs: 300_000,
    })
  })

  it('starts auto-remediation at most maxRunsPerHour times per hour', async () => {
    const deps = { db: store.db, clock }
    const first = await startAutoRemediation(deps, settings, 'auto', { route: 'workers' })
    const second = await startAutoRemediation(deps, settings, 'auto', { route: 'workers' })
    const third = await startAutoRemediation(deps, settings, 'auto', { route: 'workers' })
    expect([first.started, second.started, third.started]).toEqual([true, true, false])
    if (first.started) expect((await first.settled).status).toBe('succeeded')
    if (second.started) await second.settled
    expect(!third.started && third.reason).toContain('already ran automatically 2 times')
    const later = { db: store.db, clock: { now: () => t0 + 3_600_001 } }
    expect((await startAutoRemediation(later, settings, 'auto')).started).toBe(true)
    expect((await startAutoRemediation(deps, settings, 'tree')).started).toBe(false)
  })

  const postgresUrl = process.env.KEEL_TEST_POSTGRES_URL
  it.skipIf(!postgresUrl)(
    'runs the handbook PostgreSQL backup/restore drill against the local PostgreSQL',
    async () => {
      const suffix = Math.random().toString(16).slice(2, 10)
      const source = `keel_drill_src_${suffix}`
      const scratch = `keel_${suffix}_drill`
      const admin = new pg.Client({ connectionString: postgresUrl })
      await admin.connect()
      await admin.query(`create database ${source}`)
      const url = new URL(postgresUrl as string)
      url.pathname = `/${source}`
      const db = new pg.Client({ connectionString: url.toString() })
      await db.connect()
      await db.query('create table customers (id int primary key, name text)')
      await db.query("insert into customers select g, 'c' || g from generate_series(1, 250) g")
      await db.query('create schema billing')
      await db.query('create table billing.invoices (id int, total numeric)')
      await db.query('insert into billing.invoices select g, g * 1.5 from generate_series(1, 42) g')
      await db.end()
      const work = mkdtempSync(join(tmpdir(), 'keel-drill-'))
      try {
        const started = await startRunbookRun(
          ctx(alice),
          settings,
          'postgres-backup-restore-drill',
          {
            params: { DATABASE_URL: url.toString(), SCRATCH_DB: scratch, BACKUP_DIR: work },
          },
        )
        if (started.dryRun) throw new Error('expected a run')
        const run = await started.settled
        const steps = await listRunSteps(store.db, run.id)
        expect(
          steps.map((s) => `${s.stepId}:${s.status}`),
          steps.map((s) => s.output).join('\n'),
        ).toEqual([
          'preflight:done',
          'dump:done',
          'create-scratch:done',
          'restore:done',
          'verify:done',
          'cleanup:done',
        ])
        expect(run).toMatchObject({ status: 'running', currentStep: 'record' })
        const verify = steps.find((s) => s.stepId === 'verify')?.output ?? ''
        expect(verify).toContain('billing.invoices=42')
        expect(verify).toContain('public.customers=250')
        expect(verify).toContain('row counts verified: 2 tables match')
        const left = await admin.query('select 1 from pg_database where datname = $1', [scratch])
        expect(left.rowCount).toBe(0)
        expect(existsSync(join(work, `${scratch}.dump`))).toBe(false)
      } finally {
        await admin.query(`drop database if exists ${scratch} with (force)`)
        await admin.query(`drop database if exists ${source} with (force)`)
        await admin.end()
        rmSync(work, { recursive: true, force: true })
      }
    },
    60_000,
  )
})

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore, type Store, type StoreLocation } from '../src/store/dialect.js'
import { getEscalation, listEscalationSteps } from '../src/store/escalations.js'
import { startKeelProcess, waitUntil, type KeelProcess } from './helpers/keel-process.js'
import { startLoopbackReceiver, type LoopbackReceiver } from './helpers/loopback-receiver.js'
import { freshLocation, storeKinds } from './helpers/stores.js'

// Level 2 is far enough after level 1 that Keel is surely killed before it, and the restart (a
// few seconds of start-up) is usually ready before it is due. Keel is killed again after level 2,
// and restarted only once level 3 is overdue, so one level is due while Keel runs and one came
// due while it was down.
const level2DelayS = 8
const level3DelayS = 5
const pollIntervalMs = 500
// How late a level may fire past the moment Keel could first fire it: a poll interval plus
// generous room for a shared, loaded machine. A level that waited for the next restart, or for
// the lease of a killed node (60 s), is far outside it.
const onTimeSlackMs = pollIntervalMs + 3_000

interface Page {
  id: string
  step: number
  level: number
  user: string
  at: number
  dueAt: number
}

function pagesOf(receiver: LoopbackReceiver): Page[] {
  return receiver.requests.map((request) => {
    const body = JSON.parse(request.body) as {
      id: string
      at: string
      annotations: Record<string, string>
    }
    return {
      id: body.id,
      step: Number(body.annotations.escalationStep),
      level: Number(body.annotations.escalationLevel),
      user: String(body.annotations.pagedUser),
      at: Date.parse(body.at),
      dueAt: Date.parse(String(body.annotations.escalationDueAt)),
    }
  })
}

function configText(store: StoreLocation, receiverUrl: string): string {
  const storeLine =
    store.driver === 'sqlite'
      ? 'store: { driver: sqlite, path: keel.db }'
      : `store: { driver: postgres, url: "${store.url}", poolSize: 4 }`
  return `
server: { publicUrl: "https://keel.example.org" }
${storeLine}
monitors:
  nightly-backup:
    type: heartbeat
    token: crash-test-backup
    period: 1h
    grace: 5m
    retries: 0
    labels: { team: dba }
    channels: []
channels:
  ann-hook: { type: webhook, url: "${receiverUrl}/ann" }
  bob-hook: { type: webhook, url: "${receiverUrl}/bob" }
  cid-hook: { type: webhook, url: "${receiverUrl}/cid" }
users:
  ann: { name: Ann, channels: [ann-hook] }
  bob: { name: Bob, channels: [bob-hook] }
  cid: { name: Cid, channels: [cid-hook] }
routes:
  match:
    - { matchers: ['team="dba"', 'monitor="nightly-backup"'], escalationPolicy: crash }
escalationPolicies:
  crash:
    levels:
      - targets: [{ user: ann }]
      - { delay: ${level2DelayS}s, targets: [{ user: bob }] }
      - { delay: ${level3DelayS}s, targets: [{ user: cid }] }
escalation:
  pollInterval: ${pollIntervalMs}ms
`
}

describe.each(storeKinds)('escalation across a crash on $name', (kind) => {
  let dir: string
  let receiver: LoopbackReceiver
  let drop: (() => Promise<void>) | undefined
  let store: Store | undefined
  const children: KeelProcess[] = []

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-crash-'))
    receiver = await startLoopbackReceiver()
  })
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL')
        await child.exited
      }
    }
    await store?.close()
    store = undefined
    await receiver.close()
    await drop?.()
    drop = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it.skipIf(kind.skipReason !== undefined)(
    'pages levels 2 and 3 exactly once and on time when Keel is killed before each of them',
    async () => {
      const fresh = await freshLocation(kind.name)
      drop = fresh.drop
      const location: StoreLocation =
        fresh.location.driver === 'sqlite'
          ? { driver: 'sqlite', path: join(dir, 'keel.db') }
          : fresh.location
      const configPath = join(dir, 'keel.yaml')
      writeFileSync(configPath, configText(location, receiver.url))

      const first = await startKeelProcess(configPath, dir)
      children.push(first)
      store = await openStore(location)
      const db = store.db
      // The real way in: a failed backup job opens an incident, which the route sends to `crash`.
      const ping = await fetch(`${first.url}/ping/crash-test-backup/fail`, { method: 'POST' })
      expect(ping.status).toBe(200)
      const { incident_id: incidentId } = await db
        .selectFrom('escalations')
        .select('incident_id')
        .executeTakeFirstOrThrow()
      expect(await getEscalation(db, incidentId)).toMatchObject({
        policyId: 'crash',
        status: 'active',
        subject: { title: 'nightly-backup is DOWN', labels: { team: 'dba' } },
      })

      await receiver.waitFor(1, 30_000)
      first.process.kill('SIGKILL')
      await first.exited
      const killedAt = Date.now()
      const afterKill = await listEscalationSteps(db, { incidentId })
      expect(
        afterKill.map((s) => [s.level, s.status]),
        'Keel must be killed after level 1 ran and before level 2 did',
      ).toEqual([
        [1, 'done'],
        [2, 'pending'],
      ])
      const level2 = afterKill[1]
      expect(level2?.dueAt).toBeGreaterThan(killedAt)
      expect(pagesOf(receiver).filter((p) => p.level > 1)).toEqual([])

      const second = await startKeelProcess(configPath, dir)
      children.push(second)
      const secondReadyAt = Date.now()
      await waitUntil(
        'level 2 to be delivered after the restart',
        async () => pagesOf(receiver).some((p) => p.level === 2),
        60_000,
      )
      second.process.kill('SIGKILL')
      await second.exited
      const secondKilledAt = Date.now()
      const afterSecondKill = await listEscalationSteps(db, { incidentId })
      expect(
        afterSecondKill.map((s) => [s.level, s.status]),
        'Keel must be killed again after level 2 ran and before level 3 did',
      ).toEqual([
        [1, 'done'],
        [2, 'done'],
        [3, 'pending'],
      ])
      const level3 = afterSecondKill[2]
      expect(level3?.dueAt).toBeGreaterThan(secondKilledAt)
      // Level 3 comes due while Keel is down.
      await waitUntil(
        'level 3 to be overdue',
        async () => Date.now() > (level3?.dueAt as number) + pollIntervalMs,
        30_000,
      )
      expect(pagesOf(receiver).filter((p) => p.level === 3)).toEqual([])

      const third = await startKeelProcess(configPath, dir)
      children.push(third)
      const thirdReadyAt = Date.now()
      await waitUntil(
        'level 3 to be delivered after the restart',
        async () => pagesOf(receiver).some((p) => p.level === 3),
        60_000,
      )
      await waitUntil(
        'the escalation to end',
        async () => (await getEscalation(db, incidentId))?.status === 'exhausted',
        30_000,
      )
      // A duplicate delivery could only come from this node's dispatcher: stop it gracefully
      // (it finishes what it claimed, then exits), so every delivery there will be is in.
      third.process.kill('SIGTERM')
      expect(await third.exited).toBe(0)

      const steps = await listEscalationSteps(db, { incidentId })
      expect(steps.map((s) => [s.level, s.status, s.attempts])).toEqual([
        [1, 'done', 1],
        [2, 'done', 1],
        [3, 'done', 1],
      ])
      const pages = pagesOf(receiver)
      // A level may be delivered again if a kill landed between sending and recording it (at
      // least once); it is the same message, with the same id, from the one step.
      const firstCopies = pages.filter((p, i) => pages.findIndex((q) => q.id === p.id) === i)
      expect(firstCopies.map((p) => [p.level, p.user, p.step])).toEqual([
        [1, 'ann', steps[0]?.id],
        [2, 'bob', steps[1]?.id],
        [3, 'cid', steps[2]?.id],
      ])
      for (const page of pages) {
        const step = steps.find((s) => s.id === page.step)
        expect(page.dueAt).toBe(step?.dueAt)
        expect(page.at, `level ${page.level} paged before it was due`).toBeGreaterThanOrEqual(
          page.dueAt,
        )
        expect(page.at).toBe(step?.doneAt)
      }
      const [, page2, page3] = firstCopies
      // Level 2: due after the second start, unless that start was slower than its delay; then
      // it came due while Keel started, and the ready moment is when it could fire.
      const level2Fireable = Math.max(level2?.dueAt as number, secondReadyAt)
      expect(page2?.at, 'level 2 fired late').toBeLessThanOrEqual(level2Fireable + onTimeSlackMs)
      // Level 3 came due while Keel was down: it fires as soon as the restart is ready.
      expect(page3?.at, 'level 3 fired before the restart').toBeGreaterThan(secondKilledAt)
      expect(page3?.at, 'level 3 fired late after the restart').toBeLessThanOrEqual(
        thirdReadyAt + onTimeSlackMs,
      )
      // Each level had its whole delay after the one before it actually ran.
      expect(steps[1]?.dueAt).toBe((steps[0]?.doneAt as number) + level2DelayS * 1_000)
      expect(steps[2]?.dueAt).toBe((steps[1]?.doneAt as number) + level3DelayS * 1_000)
    },
    180_000,
  )
})

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { fingerprint } from '../core/alerts/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import type { Store } from '../store/dialect.js'
import { listTimeline } from '../store/incidents.js'
import { getRunbookRun, listRunSteps } from '../store/runbooks.js'
import { writeAlertingSection } from './alerting.js'
import { runAutoRemediations } from './auto-remediation.js'
import { RunOutputHub, type RunbookSettings } from './runbooks.js'

const t0 = Date.UTC(2026, 11, 6, 5, 0, 0)
const log = pino({ level: 'silent' })

const runbook = `---
title: Restart the queue worker
parameters:
  - { name: QUEUE, required: true }
autoRun: { enabled: true, maxRunsPerHour: 1 }
---
## Step: restart — Restart it
\`\`\`keel-command
run: echo "restarting $QUEUE"
\`\`\`
`

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`auto-remediation on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let dir: string
    let settings: RunbookSettings
    let now = t0
    const clock = { now: () => now }

    const fire = (labels: Record<string, string>, at: number) => {
      now = at
      const event = {
        fingerprint: fingerprint(labels),
        labels,
        annotations: {},
        status: 'firing' as const,
        source: 'test',
        at,
      }
      return store.db.transaction().execute((trx) => processAlertEvents(trx, [event], { now: at }))
    }

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      dir = mkdtempSync(join(tmpdir(), 'keel-auto-'))
      writeFileSync(join(dir, 'restart-worker.md'), runbook)
      settings = { paths: [dir], hub: new RunOutputHub(), cwd: dir }
      await writeAlertingSection(store.db, {
        receivers: {
          chat: { channels: ['chat'] },
          fixer: { runbook: { name: 'restart-worker', params: { QUEUE: 'emails' } } },
        },
        route: {
          receiver: 'chat',
          routes: [{ matchers: ['alertname="QueueStuck"'], receiver: 'fixer' }],
        },
      })
    })
    afterEach(async () => {
      await cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    it('starts the routed runbook once per new incident, within its hourly limit', async () => {
      // The first pass only places the cursor: incidents from before are not remediated.
      await fire({ alertname: 'QueueStuck', service: 'old' }, t0)
      expect(await runAutoRemediations({ db: store.db, clock, log }, settings, 'n1')).toEqual([])

      const [processed] = await fire({ alertname: 'QueueStuck', service: 'mail' }, t0 + 1_000)
      const incidentId = processed!.incident!.incident.id
      await fire({ alertname: 'DiskFull', service: 'files' }, t0 + 2_000)
      const attempts = await runAutoRemediations({ db: store.db, clock, log }, settings, 'n1')
      expect(attempts).toEqual([
        expect.objectContaining({ incidentId, runbook: 'restart-worker', started: true }),
      ])
      // Nothing new: nothing runs again.
      expect(await runAutoRemediations({ db: store.db, clock, log }, settings, 'n1')).toEqual([])

      // The run ran the command with the route's parameter and is on the incident's timeline.
      for (let i = 0; i < 100; i++) {
        const timeline = await listTimeline(store.db, incidentId)
        if (timeline.some((e) => /succeeded/.test(e.text))) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const texts = (await listTimeline(store.db, incidentId)).map((e) => e.text).join('\n')
      expect(texts).toMatch(/Runbook "Restart the queue worker" \(run \d+\) succeeded/)
      const runId = Number(attempts[0]?.runId)
      expect((await getRunbookRun(store.db, runId))?.params).toEqual({ QUEUE: 'emails' })
      const [step] = await listRunSteps(store.db, runId)
      expect(step?.output).toContain('restarting emails')

      // A second stuck queue within the hour: the runbook's limit refuses, and says why.
      await fire({ alertname: 'QueueStuck', service: 'billing' }, t0 + 60_000)
      const limited = await runAutoRemediations({ db: store.db, clock, log }, settings, 'n1')
      expect(limited).toEqual([
        expect.objectContaining({ started: false, reason: expect.stringMatching(/already ran/) }),
      ])
    })
  })
}

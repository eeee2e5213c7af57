import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { alive } from './helpers/processes.js'
import { createApiToken } from '../src/services/auth.js'
import { openStore, type StoreLocation } from '../src/store/dialect.js'
import {
  killKeelProcess,
  startKeelProcess,
  waitUntil,
  type KeelProcess,
} from './helpers/keel-process.js'
import { freshLocation, storeKinds } from './helpers/stores.js'

// The step prints, then waits on a child that would sleep for 1000 s: only a kill ends it.
const crashRunbook = `---
title: Survive a crash
parameters: [{ name: PIDS, required: true }]
---
## Step: work — Work for a long time
\`\`\`keel-command
run: |
  echo $$ > "$PIDS/shell"
  sleep 1000 &
  echo $! > "$PIDS/child"
  echo before-crash
  wait
timeout: 10m
\`\`\`

## Step: after — Go on after the crash
\`\`\`keel-command
run: touch "$PIDS/after"
\`\`\`
`

interface RunView {
  status: string
  currentStep?: string
  reason?: string
  steps: { stepId: string; status: string; output?: string }[]
}

describe.each(storeKinds)('a runbook run across kill -9 of Keel on $name', (kind) => {
  const children: KeelProcess[] = []
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const child of children.splice(0)) await killKeelProcess(child)
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it.skipIf(kind.skipReason !== undefined)(
    'is marked interrupted with its output, its process group is killed, and it resumes from the next step',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keel-runbook-crash-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      const pids = join(dir, 'pids')
      mkdirSync(pids)
      mkdirSync(join(dir, 'runbooks'))
      writeFileSync(join(dir, 'runbooks', 'crash.md'), crashRunbook)
      const fresh = await freshLocation(kind.name)
      cleanups.push(fresh.drop)
      const location: StoreLocation =
        fresh.location.driver === 'sqlite'
          ? { driver: 'sqlite', path: join(dir, 'keel.db') }
          : fresh.location
      const storeLine =
        location.driver === 'sqlite'
          ? 'store: { driver: sqlite, path: keel.db }'
          : `store: { driver: postgres, url: "${location.url}", poolSize: 4 }`
      const configPath = join(dir, 'keel.yaml')
      writeFileSync(configPath, `${storeLine}\nrunbooks: { paths: [runbooks/] }\n`)
      // A token made beforehand: Keel then starts without a bootstrap token.
      const store = await openStore(location)
      const { token } = await createApiToken(
        { db: store.db, clock: { now: () => Date.now() } },
        { name: 'crash-test', role: 'admin' },
      )
      await store.close()
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

      const first = await startKeelProcess(configPath, dir)
      children.push(first)
      const started = await fetch(`${first.url}/api/v1/runbooks/crash/runs`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ params: { PIDS: pids } }),
      })
      expect(started.status, await started.clone().text()).toBe(201)
      const { id } = (await started.json()) as { id: number }
      const view = async (url: string): Promise<RunView> => {
        const response = await fetch(`${url}/api/v1/runbook-runs/${id}`, { headers: auth })
        expect(response.status).toBe(200)
        return (await response.json()) as RunView
      }
      // The output is in the store while the step still runs.
      await waitUntil(
        'the step output in the store',
        async () => (await view(first.url)).steps[0]?.output?.includes('before-crash') === true,
        30_000,
      )
      await waitUntil('the child pid file', () => existsSync(join(pids, 'child')), 30_000)
      const shell = Number(readFileSync(join(pids, 'shell'), 'utf8'))
      const child = Number(readFileSync(join(pids, 'child'), 'utf8'))
      cleanups.push(() => {
        for (const pid of [shell, child]) if (alive(pid)) process.kill(pid, 'SIGKILL')
      })

      await killKeelProcess(first)
      // Killing Keel leaves the command's group running: it has its own process group.
      expect(alive(shell) && alive(child)).toBe(true)

      const second = await startKeelProcess(configPath, dir)
      children.push(second)
      await waitUntil(
        'the run to be interrupted',
        async () => (await view(second.url)).status === 'interrupted',
        30_000,
      )
      const interrupted = await view(second.url)
      expect(interrupted).toMatchObject({ status: 'interrupted', currentStep: 'work' })
      expect(interrupted.steps).toMatchObject([{ stepId: 'work', status: 'interrupted' }])
      expect(interrupted.steps[0]?.output).toContain('before-crash')
      await waitUntil(
        'the leftover process group to die',
        () => !alive(shell) && !alive(child),
        10_000,
      )

      const resumed = await fetch(`${second.url}/api/v1/runbook-runs/${id}/resume`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ from: 'next' }),
      })
      expect(resumed.status, await resumed.clone().text()).toBe(200)
      await waitUntil(
        'the resumed run to succeed',
        async () => (await view(second.url)).status === 'succeeded',
        30_000,
      )
      expect(existsSync(join(pids, 'after'))).toBe(true)
      expect((await view(second.url)).steps.map((s) => [s.stepId, s.status])).toEqual([
        ['work', 'interrupted'],
        ['after', 'done'],
      ])
    },
    180_000,
  )
})

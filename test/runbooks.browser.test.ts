import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import type { RunningKeel } from '../src/cli/start-keel.js'
import { recoverOrphanedRuns, RunOutputHub } from '../src/services/runbooks.js'
import {
  claimRunLease,
  getRunbookRun,
  insertRunbookRun,
  insertRunStep,
  updateRunStepOutput,
} from '../src/store/runbooks.js'
import {
  chromiumInstalled,
  launchChromium,
  logIn,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// Drives the runbook pages in Debian's Chromium: the document, a run with live command output,
// a decision answered by clicking, a run a dead node left interrupted resumed by clicking, and
// the phone layout.

const haveChromium = chromiumInstalled('test/runbooks.browser.test.ts')

const triage = `---
title: Triage a slow shop
roles: [sre]
parameters: [{ name: HOST, default: shop-1, pattern: '[a-z0-9-]+' }]
---
Look first, then decide.

## Step: look — Look at the host
\`\`\`keel-command
run: echo "checking $HOST"
\`\`\`

## Step: decide — Is it the database?
\`\`\`keel-decision
question: Does the shop wait on the database?
answers:
  - { label: "Yes", next: end }
  - { label: "No", next: escalate }
\`\`\`

## Step: escalate — Escalate
- [ ] Page the SRE on call
`

const twoCommands = `---
title: Restart the queue
---
## Step: drain — Drain the queue
\`\`\`keel-command
run: echo "drained"
\`\`\`

## Step: restart — Restart the workers
\`\`\`keel-command
run: echo "workers restarted"
\`\`\`
`

describe.skipIf(!haveChromium)('the runbook pages in Chromium', () => {
  let dir: string
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    ensureWebBuild()
    dir = mkdtempSync(join(tmpdir(), 'keel-runbook-ui-'))
    mkdirSync(join(dir, 'runbooks'))
    writeFileSync(join(dir, 'runbooks', 'triage-slow-shop.md'), triage)
    writeFileSync(join(dir, 'runbooks', 'restart-queue.md'), twoCommands)
    writeFileSync(
      join(dir, 'keel.yaml'),
      'store: { driver: sqlite, path: keel.db }\nrunbooks: { paths: [runbooks/] }\n',
    )
    keel = await startKeelForBrowser(dir, 'runbook-ui-test', (t) => (token = t))
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`${keel.url}/login`)
    await logIn(page, keel.url, token)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('shows the document, runs it with live output and walks the decision', async () => {
    await page.getByRole('link', { name: 'Runbooks' }).click()
    await page.waitForURL(`${keel.url}/runbooks`)
    await page.getByRole('link', { name: 'Triage a slow shop' }).click()
    await page.waitForURL(`${keel.url}/runbooks/triage-slow-shop`)
    await page.getByText('Look first, then decide.').waitFor()
    await page.locator('input[name="HOST"]').fill('web-7')
    await page.getByRole('button', { name: 'Run', exact: true }).click()
    await page.locator('[data-step="look"][data-status="done"]').waitFor({ timeout: 20_000 })
    await expect
      .poll(() => page.locator('[data-step="look"] pre').textContent())
      .toBe('checking web-7\n')
    await page.getByRole('heading', { name: 'Does the shop wait on the database?' }).waitFor()
    await saveScreenshot(page, 'runbook-run-light', true)
    await page.getByRole('button', { name: 'Yes' }).click()
    await page.locator('.runbook-run[data-status="succeeded"]').waitFor({ timeout: 20_000 })
    expect(pageErrors).toEqual([])
  })

  it('offers both ways to resume a run a dead node left interrupted, and resumes from the next step', async () => {
    // A run as a node on another host leaves it when it dies mid-step: running at its first
    // step, leased to that node until a moment ago, the step's output stored so far.
    const db = keel.store.db
    const now = Date.now()
    const run = await insertRunbookRun(
      db,
      {
        runbook: 'restart-queue',
        title: 'Restart the queue',
        runbookSource: twoCommands,
        params: {},
        requestedBy: 'alice',
        automatic: false,
        state: { status: 'running', currentStep: 'drain', stepsTaken: 0 },
      },
      now,
    )
    const deadNode = { node: 'node-a', host: 'other-host', pid: 4242, started: '1' }
    expect(await claimRunLease(db, run.id, { currentStep: 'drain' }, deadNode, now, now - 1)).toBe(
      true,
    )
    const step = await insertRunStep(db, {
      runId: run.id,
      stepId: 'drain',
      kind: 'command',
      status: 'running',
      actor: 'keel',
      startedAt: now,
    })
    await updateRunStepOutput(db, step, 'draining\n', false)
    // The recovery every node runs marks it interrupted (this node's timer may get there first).
    await recoverOrphanedRuns(
      { db, clock: { now: () => Date.now() } },
      { paths: [join(dir, 'runbooks')], hub: new RunOutputHub() },
    )
    expect(await getRunbookRun(db, run.id)).toMatchObject({
      status: 'interrupted',
      currentStep: 'drain',
    })

    await page.goto(`${keel.url}/runbooks/restart-queue?run=${run.id}`)
    const view = page.locator('.runbook-run')
    await page.locator('.runbook-run[data-status="interrupted"]').waitFor()
    expect(await view.getByRole('heading', { level: 2 }).textContent()).toBe(
      `Run ${run.id}: interrupted`,
    )
    await view.getByRole('heading', { name: 'Keel stopped while step drain ran' }).waitFor()
    expect(await view.locator('[data-step="drain"] pre').textContent()).toBe('draining\n')
    const next = view.getByRole('button', { name: 'Resume from the next step' })
    const retry = view.getByRole('button', { name: 'Retry step drain' })
    expect(await next.isVisible()).toBe(true)
    expect(await retry.isVisible()).toBe(true)
    await saveScreenshot(page, 'runbook-run-interrupted-light', true)

    await next.click()
    await page.locator('.runbook-run[data-status="succeeded"]').waitFor({ timeout: 20_000 })
    expect(await view.locator('[data-step="restart"]').getAttribute('data-status')).toBe('done')
    expect(await view.locator('[data-step="restart"] pre').textContent()).toBe(
      'workers restarted\n',
    )
    // The first step is not run again: it stays interrupted, with the output it had.
    expect(await view.locator('[data-step="drain"]').getAttribute('data-status')).toBe(
      'interrupted',
    )
    expect(await next.count()).toBe(0)
    expect(await retry.count()).toBe(0)
    expect(pageErrors).toEqual([])
  })

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 800 })
    await page.goto(`${keel.url}/runbooks/triage-slow-shop`)
    await page.getByText('Look first, then decide.').waitFor()
    const width = await page.evaluate('document.documentElement.scrollWidth')
    expect(width).toBeLessThanOrEqual(390)
  })
})

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import type { RunningKeel } from '../src/cli/start-keel.js'
import {
  chromiumInstalled,
  launchChromium,
  logIn,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// Drives the runbook pages in Debian's Chromium: the document, a run with live command output,
// a decision answered by clicking, and the phone layout.

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

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 800 })
    await page.goto(`${keel.url}/runbooks/triage-slow-shop`)
    await page.getByText('Look first, then decide.').waitFor()
    const width = await page.evaluate('document.documentElement.scrollWidth')
    expect(width).toBeLessThanOrEqual(390)
  })
})

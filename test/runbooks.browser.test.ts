import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import { startKeel, type RunningKeel } from '../src/cli/start-keel.js'

// Drives the runbook pages in Debian's Chromium: the document, a run with live command output,
// a decision answered by clicking, and the phone layout.

const chromiumPath = '/usr/bin/chromium'
const haveChromium = existsSync(chromiumPath)
const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(root, 'test-artifacts')
const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run']

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
    mkdirSync(artifacts, { recursive: true })
    dir = mkdtempSync(join(tmpdir(), 'keel-runbook-ui-'))
    mkdirSync(join(dir, 'runbooks'))
    writeFileSync(join(dir, 'runbooks', 'triage-slow-shop.md'), triage)
    writeFileSync(
      join(dir, 'keel.yaml'),
      'store: { driver: sqlite, path: keel.db }\nrunbooks: { paths: [runbooks/] }\n',
    )
    keel = await startKeel({
      configPath: join(dir, 'keel.yaml'),
      env: {},
      log: pino({ level: 'silent' }),
      listen: '127.0.0.1:0',
      nodeId: 'runbook-ui-test',
      onBootstrapToken: (t) => (token = t),
    })
    browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs })
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`${keel.url}/login`)
    await page.locator('#token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${keel.url}/`)
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
    await page.screenshot({ path: join(artifacts, 'runbook-run-light.png'), fullPage: true })
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

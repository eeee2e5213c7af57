import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import { startKeel, type RunningKeel } from '../src/cli/start-keel.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'

// The per-role home page and an incident's response procedure, in Debian's Chromium against a
// real Keel: a database owned by the dba team goes down, and /home/dba lists what the DBA needs.

const chromiumPath = '/usr/bin/chromium'
const haveChromium = existsSync(chromiumPath)
const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(root, 'test-artifacts')
const launchArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

const failover = `---
title: Fail over the orders database
description: Promote the replica when the primary stops answering.
roles: [dba]
alerts:
  - 'monitor="orders-db-port"'
---
Check the replica's lag first.

## Step: promote — Promote the replica
- [ ] Promote it
`

const webRestart = `---
title: Restart the web tier
roles: [sre]
---
Not the DBA's.
`

describe.skipIf(!haveChromium)('the role home page in Chromium', () => {
  let dir: string
  let target: ListeningServer
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    ensureWebBuild()
    mkdirSync(artifacts, { recursive: true })
    target = await listenOnLoopback(
      createServer((request, response) => {
        const down = request.url === '/db'
        response
          .writeHead(down ? 500 : 200, { 'content-type': 'text/plain' })
          .end(down ? 'no' : 'ok')
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'keel-role-home-'))
    mkdirSync(join(dir, 'runbooks'))
    writeFileSync(join(dir, 'runbooks', 'orders-db-failover.md'), failover)
    writeFileSync(join(dir, 'runbooks', 'restart-web.md'), webRestart)
    const base = `http://127.0.0.1:${target.port}`
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'runbooks: { paths: [runbooks/] }',
        'monitors:',
        '  orders-db-port:',
        '    type: http',
        '    name: Orders database',
        `    url: ${base}/db`,
        '    interval: 1s',
        '    retries: 0',
        '    labels: { team: dba, entity: orders-db }',
        '  web-home:',
        '    type: http',
        '    name: Web home',
        `    url: ${base}/`,
        '    interval: 1s',
        '    labels: { team: web }',
        'catalog:',
        '  entities:',
        '    orders-db: { kind: database, name: Orders database, owner: dba, tier: 1 }',
        '    web: { kind: website, name: Web, owner: web }',
      ].join('\n'),
    )
    keel = await startKeel({
      configPath: join(dir, 'keel.yaml'),
      env: {},
      log: pino({ level: 'silent' }),
      listen: '127.0.0.1:0',
      nodeId: 'role-home-test',
      onBootstrapToken: (t) => (token = t),
    })
    browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs })
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    })
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
    await target?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it("lists the DBA's incident, failing monitor and runbooks, and remembers the role", async () => {
    await page.getByRole('link', { name: 'Home', exact: true }).click()
    await page.waitForURL(`${keel.url}/home`)
    await page.locator('.role-picker').getByRole('link', { name: 'dba', exact: true }).click()
    await page.waitForURL(`${keel.url}/home/dba`)
    const incidents = page.getByTestId('home-incidents')
    await incidents.locator('[data-incident]').first().waitFor({ timeout: 20_000 })
    expect(await incidents.textContent()).toContain('Orders database is DOWN')
    const monitors = page.getByTestId('home-monitors')
    await monitors.locator('[data-monitor="orders-db-port"][data-state="down"]').waitFor()
    expect(await monitors.locator('[data-monitor]').count()).toBe(1)
    const runbooks = page.getByTestId('home-runbooks')
    await runbooks.getByRole('link', { name: 'Fail over the orders database' }).waitFor()
    expect(await runbooks.textContent()).not.toContain('Restart the web tier')
    await page.mouse.move(0, 0)
    await page.screenshot({ path: join(artifacts, 'role-home-light.png'), fullPage: true })
    if (process.env.KEEL_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(
        join(artifacts, 'role-home-light.png'),
        join(root, 'docs/screenshots/role-home-light.png'),
      )
    }
    // The last role picked opens straight from /home.
    await page.goto(`${keel.url}/home`)
    await page.waitForURL(`${keel.url}/home/dba`)
    // `?team=` overrides the role's teams: the web team has nothing failing.
    await page.goto(`${keel.url}/home/dba?team=web`)
    await expect.poll(() => page.getByTestId('role-teams').textContent()).toBe('teams web')
    await page.getByText('All monitors are healthy.').waitFor({ timeout: 10_000 })
    expect(pageErrors).toEqual([])
  }, 60_000)

  it("shows the alert's runbook on the incident page", async () => {
    await page.goto(`${keel.url}/home/dba`)
    const link = page.getByTestId('home-incidents').locator('[data-incident] a').first()
    await link.waitFor({ timeout: 20_000 })
    await link.click()
    await page.waitForURL(/\/incidents\/\d+$/)
    const found = page.getByTestId('alert-runbooks')
    await found.getByRole('link', { name: 'Fail over the orders database' }).waitFor()
    const id = /\/incidents\/(\d+)$/.exec(page.url())?.[1]
    expect(await found.locator('a').getAttribute('href')).toBe(
      `/runbooks/orders-db-failover?incident=${id}`,
    )
    await page.screenshot({ path: join(artifacts, 'role-home-incident.png'), fullPage: true })
    expect(pageErrors).toEqual([])
  }, 60_000)

  it('reads well dark at phone width', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      colorScheme: 'dark',
      storageState: await page.context().storageState(),
    })
    const p = await phone.newPage()
    await p.goto(`${keel.url}/home/dba`)
    await p.getByTestId('home-incidents').locator('[data-incident]').first().waitFor()
    expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await p.screenshot({ path: join(artifacts, 'role-home-dark-phone.png'), fullPage: true })
    await phone.close()
  }, 60_000)
})

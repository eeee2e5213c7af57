import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningKeel } from '../src/cli/start-keel.js'
import { setMeta } from '../src/store/meta.js'
import { upsertRollups, type Rollup } from '../src/store/rollups.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'
import {
  chromiumInstalled,
  launchChromium,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// The public status page in Debian's Chromium, logged out, against a real Keel watching a
// loopback target. Screenshots land in test-artifacts/.

const haveChromium = chromiumInstalled('test/status-page.browser.test.ts')

const day = 86_400_000

describe.skipIf(!haveChromium)('the public status page in Chromium', () => {
  let dir: string
  let target: ListeningServer
  let keel: RunningKeel
  let browser: Browser
  const offsite: string[] = []
  const consoleErrors: string[] = []

  async function open(options: {
    width: number
    height: number
    colorScheme: 'light' | 'dark'
  }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: { width: options.width, height: options.height },
      colorScheme: options.colorScheme,
    })
    context.on('request', (request) => {
      if (!request.url().startsWith(keel.url)) offsite.push(request.url())
    })
    const page = await context.newPage()
    // A Content-Security-Policy violation (an inline style not allowed) shows up here.
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text())
    })
    page.on('pageerror', (error) => consoleErrors.push(String(error)))
    return { context, page }
  }

  beforeAll(async () => {
    target = await listenOnLoopback(
      createServer((request, response) => {
        const broken = request.url === '/search'
        response.writeHead(broken ? 500 : 200, { 'content-type': 'text/plain' }).end('ok')
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'keel-status-'))
    const base = `http://127.0.0.1:${target.port}`
    const monitor = (id: string, name: string, path: string) => [
      `  ${id}:`,
      '    type: http',
      `    name: ${name}`,
      `    url: ${base}${path}`,
      '    interval: 1s',
      '    retries: 0',
      `    labels: { service: ${id} }`,
    ]
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'monitors:',
        ...monitor('shop-home', 'Shop home page', '/home'),
        ...monitor('shop-api', 'Shop API health', '/api'),
        ...monitor('search', 'Search', '/search'),
        ...monitor('db-main', 'Primary database replica', '/db'),
        'statusPage:',
        '  title: Acme Shop status',
        '  description: Live status of the shop and its API.',
        '  cacheSeconds: 1',
        '  groups:',
        '    - name: Storefront',
        '      components:',
        '        - { monitor: shop-home, name: Website }',
        '        - { monitor: search, name: Product search }',
        '    - name: Developers',
        '      components:',
        '        - { monitor: shop-api, name: Public API, description: REST and webhooks }',
      ].join('\n'),
    )
    keel = await startKeelForBrowser(dir, 'status-test')
    // Ninety days of history, with a few bad days, as the retention job would have rolled it up.
    const db = keel.store.db
    const today = Math.floor(Date.now() / day) * day
    const monitors = await db.selectFrom('monitors').select(['id', 'slug']).execute()
    const rollups: Rollup[] = []
    for (const m of monitors) {
      for (let i = 1; i < 90; i++) {
        const failures =
          m.slug === 'shop-home' && (i === 12 || i === 40)
            ? i === 12
              ? 200
              : 4
            : m.slug === 'search' && i === 3
              ? 400
              : m.slug === 'shop-api' && i === 61
                ? 2
                : 0
        rollups.push({
          monitorId: m.id,
          resolution: 'd',
          bucketStart: today - i * day,
          count: 1440,
          failures,
          degraded: 0,
          latencySum: 1440 * 20,
          latencyP50: 20,
          latencyP95: 40,
          latencyMax: 90,
        })
      }
    }
    await upsertRollups(db, rollups)
    await setMeta(db, 'rollup:d', String(today))
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    await target?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('shows public components to a visitor who is not logged in, and nothing private', async () => {
    const { context, page } = await open({ width: 1200, height: 900, colorScheme: 'light' })
    // The broken search endpoint turns its component red within a few checks.
    await expect
      .poll(
        async () => {
          await page.goto(`${keel.url}/status`)
          return page.locator('[data-component="product-search"]').getAttribute('data-status')
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe('major_outage')
    await page.locator('[data-component="website"][data-status="operational"]').waitFor()
    expect(await page.locator('h1').textContent()).toBe('Acme Shop status')
    expect(await page.getByRole('status').textContent()).toMatch(/outage/i)
    const text = (await page.locator('body').textContent()) ?? ''
    for (const shown of ['Website', 'Product search', 'Public API', 'REST and webhooks']) {
      expect(text).toContain(shown)
    }
    for (const hidden of ['db-main', 'Primary database', 'Shop home page', '127.0.0.1']) {
      expect(text).not.toContain(hidden)
    }
    expect(await page.locator('[data-component="website"] .bars i').count()).toBe(90)
    expect(
      await page.locator('[data-component="website"] .bars i').nth(77).getAttribute('class'),
    ).toBe('bad')
    expect(await context.cookies()).toEqual([])
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'status-page-light', true)
    await context.close()
    expect(offsite).toEqual([])
    expect(consoleErrors).toEqual([])
  }, 60_000)

  it('reads well dark at phone width, showing the last 30 days', async () => {
    const { context, page } = await open({ width: 390, height: 844, colorScheme: 'dark' })
    await page.goto(`${keel.url}/status`)
    const visible = await page.locator('[data-component="website"] .bars i:visible').count()
    expect(visible).toBe(30)
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor')
    expect(background).toBe('rgb(15, 18, 22)')
    await saveScreenshot(page, 'status-page-dark-phone', true)
    await context.close()
    expect(offsite).toEqual([])
    expect(consoleErrors).toEqual([])
  }, 60_000)
})

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import type { RunningKeel } from '../src/cli/start-keel.js'
import { getMeta, setMeta } from '../src/store/meta.js'
import { getMonitor } from '../src/store/monitors.js'
import { upsertRollups } from '../src/store/rollups.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'
import {
  chromiumInstalled,
  launchChromium,
  logIn,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// Drives Debian's Chromium (never a downloaded browser) against a real Keel started in-process,
// watching real HTTP monitors of a loopback target. Screenshots land in test-artifacts/.

const haveChromium = chromiumInstalled('test/ui.browser.test.ts')

/** Page scripts as strings: this file is type-checked without the DOM library. */
const pageWidth = 'document.documentElement.scrollWidth'

describe.skipIf(!haveChromium)('the operator UI in Chromium', () => {
  let dir: string
  let target: ListeningServer
  /** The search monitor's own target, stopped to watch the monitor go down. */
  let searchTarget: ListeningServer
  const broken = new Set<string>()
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const offsite: string[] = []
  const consoleErrors: string[] = []

  function watch(ctx: BrowserContext, p: Page) {
    ctx.on('request', (request) => {
      if (!request.url().startsWith(keel.url)) offsite.push(request.url())
    })
    p.on('console', (message) => {
      // A 401 before logging in is expected; Chromium logs every failed fetch.
      if (message.type() === 'error' && !message.text().includes('Failed to load resource')) {
        consoleErrors.push(message.text())
      }
    })
    p.on('pageerror', (error) => consoleErrors.push(String(error)))
  }

  beforeAll(async () => {
    // npm test on a fresh checkout has no web/dist yet; build it once, as `npm start` does.
    ensureWebBuild()
    target = await listenOnLoopback(
      createServer((request, response) => {
        const path = request.url ?? '/'
        if (broken.has(path)) {
          response.writeHead(500, { 'content-type': 'text/plain' }).end('database unavailable')
        } else {
          response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
        }
      }),
    )
    searchTarget = await listenOnLoopback(
      createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'keel-ui-'))
    const base = `http://127.0.0.1:${target.port}`
    const searchBase = `http://127.0.0.1:${searchTarget.port}`
    const monitor = (id: string, name: string, url: string, labels: string) => [
      `  ${id}:`,
      '    type: http',
      `    name: ${name}`,
      `    url: ${url}`,
      '    interval: 1s',
      '    retries: 0',
      `    labels: { ${labels} }`,
    ]
    mkdirSync(join(dir, 'runbooks'))
    writeFileSync(
      join(dir, 'runbooks', 'shop-api-down.md'),
      [
        '---',
        'title: Shop API returns errors',
        `alerts: ['alertname="MonitorUnhealthy", monitor="shop-api"']`,
        '---',
        'What to check when the shop API health check fails.',
        '',
        '## Step: logs — Read the API logs',
        'Look for database errors.',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'runbooks: { paths: [runbooks/] }',
        'monitors:',
        ...monitor('shop-home', 'Shop home page', `${base}/home`, 'team: web, service: shop'),
        ...monitor(
          'shop-api',
          'Shop API health',
          `${base}/api/health`,
          'team: web, service: shop-api',
        ),
        ...monitor('search', 'Search', `${searchBase}/search`, 'team: search'),
      ].join('\n'),
    )
    keel = await startKeelForBrowser(dir, 'ui-test', (t) => (token = t))
    browser = await launchChromium()
    context = await browser.newContext({
      viewport: { width: 1280, height: 760 },
      colorScheme: 'light',
    })
    page = await context.newPage()
    watch(context, page)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    await target?.close()
    await searchTarget?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('logs in with the bootstrap token and lists every monitor as up', async () => {
    expect(token).toMatch(/^keel_/)
    await page.goto(`${keel.url}/`)
    await page.waitForURL(/\/login$/)
    await page.locator('#token').fill('keel_wrong')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted')
    await saveScreenshot(page, 'login-light')

    await logIn(page, keel.url, token)
    for (const id of ['shop-home', 'shop-api', 'search']) {
      await page.locator(`[data-monitor="${id}"][data-state="up"]`).waitFor({ timeout: 15_000 })
    }
    await expect.poll(() => page.locator('[data-count="up"] .count-n').textContent()).toBe('3')
    const cookies = await context.cookies()
    expect(cookies.find((c) => c.name === 'keel_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
    })
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'overview-light')
  }, 60_000)

  it('shows each monitor’s uptime as 24 hourly bars and the 30-day figure', async () => {
    // A paused monitor runs no checks, so its figures are exactly the seeded roll-ups.
    const created = await fetch(`${keel.url}/api/v1/monitors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'billing',
        type: 'http',
        name: 'Billing',
        url: `http://127.0.0.1:${target.port}/billing`,
        paused: true,
        labels: { team: 'billing' },
      }),
    })
    expect(created.status).toBe(201)
    const db = keel.store.db
    const row = await getMonitor(db, 'billing')
    const hour = 3_600_000
    const thisHour = Math.floor(Date.now() / hour) * hour
    // 22 hours of 60 checks: one hour half down, one with a single failure, one without checks.
    const seeded = Array.from({ length: 23 }, (_, i) => thisHour - (23 - i) * hour)
      .filter((start) => start !== thisHour - 8 * hour)
      .map((start) => {
        const failures = start === thisHour - 5 * hour ? 30 : start === thisHour - 2 * hour ? 1 : 0
        return {
          monitorId: row?.id as number,
          resolution: 'h' as const,
          bucketStart: start,
          count: 60,
          failures,
          degraded: 0,
          latencySum: 600,
          latencyP50: 10,
          latencyP95: 12,
          latencyMax: 15,
        }
      })
    await upsertRollups(db, seeded)
    // The hours up to this one count as rolled up, as after a retention pass.
    for (const key of ['rollup:h', 'rollup:m']) {
      if (Number((await getMeta(db, key)) ?? 0) < thisHour) await setMeta(db, key, String(thisHour))
    }

    await page.goto(`${keel.url}/`)
    const billing = page.locator('[data-monitor="billing"]')
    await billing.waitFor({ timeout: 15_000 })
    const bar = billing.locator('.uptime')
    // (22 × 60 − 31) / (22 × 60) = 97.65 %, over 24 hours and over 30 days alike.
    await expect.poll(() => bar.locator('.uptime-percent').textContent()).toBe('97.65%')
    expect(await bar.getAttribute('aria-label')).toBe(
      'Uptime: 97.65% over 24 h, 97.65% over 30 days',
    )
    const segments = bar.locator('.uptime-hours i')
    expect(await segments.count()).toBe(24)
    const classes = await segments.evaluateAll((nodes) => nodes.map((n) => n.className))
    expect(classes[18]).toBe('u-bad')
    expect(classes[21]).toBe('u-low')
    expect(classes[15]).toBe('u-none')
    expect(classes[23]).toBe('u-none')
    expect(classes.filter((c) => c === 'u-full')).toHaveLength(20)
    expect(await segments.nth(18).getAttribute('title')).toContain('50.00% (30 of 60 checks down)')
    // Live monitors show their current hour.
    await expect
      .poll(() => page.locator('[data-monitor="shop-home"] .uptime-percent').textContent())
      .toBe('100%')
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'overview-uptime-light')

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
      storageState: await context.storageState(),
    })
    const p = await phone.newPage()
    watch(phone, p)
    await p.goto(`${keel.url}/`)
    await p.locator('[data-monitor="billing"] .uptime-percent').waitFor({ timeout: 15_000 })
    expect(await p.locator('[data-monitor="billing"] .uptime-percent').textContent()).toBe('97.65%')
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(390)
    await saveScreenshot(p, 'overview-uptime-dark-phone')
    await phone.close()

    const removed = await fetch(`${keel.url}/api/v1/monitors/billing`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(removed.status).toBe(204)
    // The stream reports deletions on its periodic full scan; a fresh read drops it at once.
    await page.goto(`${keel.url}/`)
    await page.locator('[data-monitor="shop-home"]').waitFor()
    expect(await page.locator('[data-monitor="billing"]').count()).toBe(0)
  }, 60_000)

  it('turns a monitor down live, over the event stream, without reloading', async () => {
    await page.evaluate('window.keelNotReloaded = true')
    broken.add('/api/health')
    await page.locator('[data-monitor="shop-api"][data-state="down"]').waitFor({ timeout: 15_000 })
    await expect.poll(() => page.locator('[data-count="down"] .count-n').textContent()).toBe('1')
    expect(await page.evaluate('window.keelNotReloaded')).toBe(true)
    // Problems sort first.
    expect(await page.locator('[data-monitor]').first().getAttribute('data-monitor')).toBe(
      'shop-api',
    )
    await saveScreenshot(page, 'overview-down-light')

    await page.keyboard.press('/')
    expect(await page.evaluate("document.activeElement.getAttribute('type')")).toBe('search')
    await page.keyboard.type('team=search')
    await expect.poll(() => page.locator('[data-monitor]').count()).toBe(1)
    await page.keyboard.press('Escape')
    await expect.poll(() => page.locator('[data-monitor]').count()).toBe(3)
    await page.getByRole('button', { name: /^down/i }).click()
    await expect.poll(() => page.locator('[data-monitor]').count()).toBe(1)
    await page.getByRole('button', { name: /^all/i }).click()
  }, 60_000)

  it('turns a monitor down live when its target server stops, without reloading', async () => {
    await page.evaluate('window.keelSearchNotReloaded = true')
    await page.locator('[data-monitor="search"][data-state="up"]').waitFor()
    await searchTarget.close()
    const search = page.locator('[data-monitor="search"]')
    await page.locator('[data-monitor="search"][data-state="down"]').waitFor({ timeout: 15_000 })
    await expect.poll(() => page.locator('[data-count="down"] .count-n').textContent()).toBe('2')
    expect(await search.locator('.chip').textContent()).toMatch(/down/i)
    expect(await page.evaluate('window.keelSearchNotReloaded')).toBe(true)
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'overview-target-stopped-light')
  }, 60_000)

  it('reads well dark at phone width', async () => {
    const phone = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
      storageState: await context.storageState(),
    })
    const p = await phone.newPage()
    watch(phone, p)
    await p.goto(`${keel.url}/`)
    await p.locator('[data-monitor="shop-api"][data-state="down"]').waitFor({ timeout: 15_000 })
    expect(await p.evaluate('document.documentElement.dataset.theme')).toBe('dark')
    // Nothing sticks out sideways on a phone.
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(375)
    // Uptime bars and "checked" line up from row to row, whatever the figures and times say.
    await p.locator('[data-monitor] .uptime-percent').first().waitFor()
    const columns =
      await p.evaluate(`[...document.querySelectorAll('[data-monitor]')].map((row) => {
      const box = (selector) => {
        const r = row.querySelector(selector).getBoundingClientRect()
        return [Math.round(r.left), Math.round(r.right)].join('-')
      }
      return [box('.uptime-hours'), box('.cell-checked')].join(' ')
    })`)
    expect(columns).toHaveLength(3)
    expect(columns).toEqual(Array(3).fill((columns as string[])[0]))
    await saveScreenshot(p, 'overview-dark-phone')
    await p.locator('[data-monitor="shop-api"]').click()
    await p.locator('[data-monitor-page="shop-api"]').waitFor()
    await p.locator('[data-testid="latency-chart"] canvas').waitFor()
    await p.getByTestId('conditions').waitFor()
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(375)
    await saveScreenshot(p, 'monitor-dark-phone', true)
    await phone.close()
  }, 60_000)

  it('shows a monitor page with its chart, results and history, and pauses it', async () => {
    await page.locator('[data-monitor="shop-api"]').click()
    await page.waitForURL(`${keel.url}/monitors/shop-api`)
    await page.locator('[data-monitor-page="shop-api"]').waitFor()
    await page.locator('[data-testid="latency-chart"] canvas').waitFor()
    await expect
      .poll(() => page.locator('[data-testid="results"] tbody tr.result-down').count())
      .toBeGreaterThan(0)
    await expect.poll(() => page.locator('[data-testid="history"] li').count()).toBeGreaterThan(0)
    expect(await page.getByTestId('last-message').textContent()).toContain('500')
    expect(await page.getByTestId('managed-by').textContent()).toContain('keel.yaml')
    expect(await page.locator('.spec pre').textContent()).toContain('"interval": "1s"')

    // What makes it down, in words: the default accepted statuses and retries: 0.
    const conditions = page.getByTestId('conditions')
    await expect.poll(() => conditions.textContent()).toContain('status is 200-399')
    expect(await conditions.locator('li[data-otherwise="down"]').count()).toBe(1)
    expect(await page.getByTestId('confirm-rule').textContent()).toContain(
      'after 1 failing check in a row',
    )
    // The runbook whose alerts match this monitor's alert, not the other monitors'.
    const runbookLink = page.locator('[data-testid="monitor-runbooks"] a[data-runbook]')
    await runbookLink.first().waitFor()
    expect(await runbookLink.count()).toBe(1)
    expect(await runbookLink.textContent()).toBe('Shop API returns errors')
    expect(await page.locator('[data-testid="monitor-runbooks"] li').textContent()).toContain(
      'answers its alert',
    )

    // A week of hourly roll-ups, as the retention job would have written them.
    const row = await getMonitor(keel.store.db, 'shop-api')
    const hour = 3_600_000
    const thisHour = Math.floor(Date.now() / hour) * hour
    await upsertRollups(
      keel.store.db,
      Array.from({ length: 7 * 24 }, (_, i) => {
        const wave = Math.sin(i / 4) * 6 + (i % 24 < 8 ? 0 : 8)
        return {
          monitorId: row?.id as number,
          resolution: 'h' as const,
          bucketStart: thisHour - (7 * 24 - i) * hour,
          count: 60,
          failures: 0,
          degraded: 0,
          latencySum: 60 * (20 + wave),
          latencyP50: 18 + wave,
          latencyP95: 34 + wave * 2,
          latencyMax: 60 + wave * 4 + (i % 37 === 0 ? 90 : 0),
        }
      }),
    )
    const ranges = page.getByRole('group', { name: 'Time range' })
    expect(await ranges.getByRole('button', { name: '6 h' }).getAttribute('aria-pressed')).toBe(
      'true',
    )
    const weekRead = page.waitForRequest((request) => {
      const url = new URL(request.url())
      return url.pathname.endsWith('/rollups') && url.searchParams.get('resolution') === 'h'
    })
    await ranges.getByRole('button', { name: '7 d' }).click()
    const weekUrl = new URL((await weekRead).url())
    // The week ends with the current hour.
    const weekFrom = Number(weekUrl.searchParams.get('from'))
    expect(Math.abs(Date.now() - weekFrom - 7 * 24 * hour)).toBeLessThan(hour)
    expect(await ranges.getByRole('button', { name: '7 d' }).getAttribute('aria-pressed')).toBe(
      'true',
    )
    expect(await ranges.getByRole('button', { name: '6 h' }).getAttribute('aria-pressed')).toBe(
      'false',
    )
    await expect
      .poll(() => page.getByTestId('chart-caption').textContent())
      .toBe('hourly, last 7 d')
    await page.locator('[data-testid="latency-chart"] canvas').waitFor()
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'monitor-light', true)

    // No daily roll-ups yet: the 90-day range reads them and says so.
    const quarterRead = page.waitForRequest((request) =>
      request.url().includes('/rollups?resolution=d&'),
    )
    await ranges.getByRole('button', { name: '90 d' }).click()
    await quarterRead
    await expect
      .poll(() => page.getByTestId('chart-caption').textContent())
      .toMatch(/^last \d+ checks; no daily roll-ups in this range yet$/)

    await runbookLink.click()
    await page.waitForURL(`${keel.url}/runbooks/shop-api-down`)
    await page.getByRole('heading', { name: 'Shop API returns errors' }).waitFor()
    await page.goBack()
    await page.locator('[data-monitor-page="shop-api"]').waitFor()

    await page.getByRole('button', { name: 'Check now' }).click()
    await expect.poll(() => page.getByTestId('check-outcome').textContent()).toContain('Down')

    await page.getByRole('button', { name: 'Pause' }).click()
    await page
      .locator('[data-testid="monitor-state"] [data-state="paused"]')
      .waitFor({ timeout: 10_000 })
    await page.getByRole('button', { name: 'Resume' }).waitFor()
    await page.getByRole('link', { name: '← All monitors' }).click()
    await page.locator('[data-monitor="shop-api"][data-state="paused"]').waitFor()
    await expect.poll(() => page.locator('[data-count="paused"] .count-n').textContent()).toBe('1')
    await saveScreenshot(page, 'overview-paused-light')
  }, 60_000)

  it('keeps 20,000 monitors fast by rendering only the visible rows', async () => {
    const big = await context.newPage()
    watch(context, big)
    const ids = Array.from({ length: 20_000 }, (_, i) => `m-${String(i).padStart(5, '0')}`)
    const firstHour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 23 * 3_600_000
    const uptime = (i: number) => ({
      hours: Array.from({ length: 24 }, (_, h) => ({
        start: firstHour + h * 3_600_000,
        count: 60,
        failures: (i + h) % 41 === 0 ? 6 : 0,
      })),
      last24h: 0.998,
      last30d: 0.9995,
    })
    const view = (id: string, i: number) => ({
      id,
      type: i % 3 === 0 ? 'tcp' : 'http',
      name: `Monitor ${id}`,
      state: i % 997 === 0 ? 'down' : 'up',
      stateSince: 0,
      flapping: false,
      paused: false,
      lastCheckedAt: Date.now(),
      lastLatencyMs: i % 200,
      source: 'api',
      managedByConfig: false,
      spec: { type: 'http', url: `http://10.0.0.1/${id}`, labels: { team: `t${i % 7}` } },
      createdAt: 0,
      updatedAt: 0,
      version: 1,
      uptime: uptime(i),
    })
    await big.route(
      (url) => url.pathname === '/api/v1/monitors',
      async (route) => {
        const url = new URL(route.request().url())
        const after = url.searchParams.get('after')
        const start = after ? Number(after.slice(2)) + 1 : 0
        const items = ids.slice(start, start + 1000).map((id, i) => view(id, start + i))
        const next = start + 1000 < ids.length ? items[items.length - 1]?.id : undefined
        await route.fulfill({ json: next ? { items, next } : { items } })
      },
    )
    await big.route(
      (url) => url.pathname === '/api/v1/events',
      (route) =>
        route.fulfill({
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
          body: 'retry: 600000\n: test stream\n\n',
        }),
    )
    const started = Date.now()
    await big.goto(`${keel.url}/`)
    await expect
      .poll(() => big.getByTestId('shown-count').textContent(), { timeout: 30_000 })
      .toMatch(/^20.?000 monitors$/)
    const loadedMs = Date.now() - started
    const rows = await big.locator('[data-monitor]').count()
    expect(rows).toBeGreaterThan(5)
    expect(rows).toBeLessThan(80)
    expect(await big.locator('[data-monitor] .uptime-hours i').count()).toBe(rows * 24)

    const typed = Date.now()
    await big.keyboard.press('/')
    await big.keyboard.type('m-12345')
    await expect.poll(() => big.locator('[data-monitor]').count()).toBe(1)
    const searchMs = Date.now() - typed
    await big.keyboard.press('Escape')
    await big.evaluate('window.scrollTo(0, document.body.scrollHeight)')
    await big.locator('[data-monitor="m-19999"]').waitFor()
    expect(await big.locator('[data-monitor]').count()).toBeLessThan(80)
    console.info(`20,000 monitors: listed in ${loadedMs} ms, searched in ${searchMs} ms`)
    await big.close()
  }, 90_000)

  it('logs out, which ends the session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(/\/login$/)
    const status = await page.evaluate("fetch('/api/v1/session').then((r) => r.status)")
    expect(status).toBe(401)
  }, 30_000)

  it('loaded nothing from anywhere else and logged no errors', () => {
    expect(offsite).toEqual([])
    expect(consoleErrors).toEqual([])
  })
})

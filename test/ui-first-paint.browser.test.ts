import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

// The overview of a large install, before its whole list has arrived: the header must show the
// server's counts and the monitors that are down must be on screen, even when the first page of
// the list (read in id order) holds none of them. The list's later pages are held back by the
// test until it has looked.

const haveChromium = chromiumInstalled('test/ui-first-paint.browser.test.ts')

const total = 3_000
const downId = 'm-02500'

function view(i: number) {
  const id = `m-${String(i).padStart(5, '0')}`
  return {
    id,
    type: 'http',
    name: `Monitor ${id}`,
    state: id === downId ? 'down' : 'up',
    stateSince: 0,
    flapping: false,
    paused: false,
    lastCheckedAt: 1_700_000_000_000,
    lastLatencyMs: 12,
    source: 'api',
    managedByConfig: false,
    spec: { type: 'http', url: `http://10.0.0.1/${id}` },
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  }
}

describe.skipIf(!haveChromium)('the overview before the whole list has loaded', () => {
  let dir: string
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    ensureWebBuild()
    dir = mkdtempSync(join(tmpdir(), 'keel-first-paint-'))
    writeFileSync(join(dir, 'keel.yaml'), 'store: { driver: sqlite, path: keel.db }\n')
    keel = await startKeelForBrowser(dir, 'first-paint', (t) => (token = t))
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await keel?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('shows the server counts and the down monitors at once, then the list its own', async () => {
    let release: () => void = () => undefined
    const released = new Promise<void>((resolve) => (release = resolve))
    await page.route(
      (url) => url.pathname === '/api/v1/monitors',
      async (route) => {
        const url = new URL(route.request().url())
        const after = url.searchParams.get('after')
        const limit = Number(url.searchParams.get('limit') ?? 1000)
        const start = after ? Number(after.slice(2)) + 1 : 0
        // Only the first page answers at once; the rest of the list waits for the test.
        if (start > 0) await released
        const items = Array.from({ length: Math.min(limit, total - start) }, (_, i) =>
          view(start + i),
        )
        const next = start + limit < total ? items[items.length - 1]?.id : undefined
        await route.fulfill({ json: next ? { items, next } : { items } })
      },
    )
    await page.route(
      (url) => url.pathname === '/api/v1/status',
      (route) =>
        route.fulfill({
          json: {
            counts: { up: total - 1, down: 1, degraded: 0, pending: 0, paused: 0 },
            total,
            problems: [view(2500)],
          },
        }),
    )
    await page.goto(`${keel.url}/login`)
    await logIn(page, keel.url, token)

    // The first page (m-00000…) has no down monitor; the summary brings m-02500 and the counts.
    await page.locator(`[data-monitor="${downId}"][data-state="down"]`).waitFor()
    const count = (state: string) =>
      page.locator(`[data-count="${state}"] .count-n`).first().textContent()
    await expect.poll(() => count('down')).toBe('1')
    await expect.poll(() => count('up')).toBe(String(total - 1))
    // Worst first: the down monitor heads the list while the rest is still loading.
    expect(await page.locator('[data-monitor]').first().getAttribute('data-monitor')).toBe(downId)
    await saveScreenshot(page, 'overview-first-paint-light')

    release()
    await expect
      .poll(() => page.getByTestId('shown-count').textContent(), { timeout: 30_000 })
      .toMatch(/^3.?000 monitors$/)
    await expect.poll(() => count('down')).toBe('1')
    await expect.poll(() => count('up')).toBe(String(total - 1))
  }, 60_000)
})

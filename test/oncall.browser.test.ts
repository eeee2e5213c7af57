import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DateTime } from 'luxon'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import { systemClock, type RunningKeel } from '../src/cli/start-keel.js'
import { createApiToken } from '../src/services/auth.js'
import {
  artifacts,
  chromiumInstalled,
  launchChromium,
  logIn,
  repoRoot,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// Schedule overrides on the on-call page, in Debian's Chromium against a real Keel: an operator
// puts someone who is not on call on call now, the page says so at once, and removing the
// override hands the shift back. A viewer sees the overrides but cannot change them.

const haveChromium = chromiumInstalled('test/oncall.browser.test.ts')

/** Page scripts as strings: this file is type-checked without the DOM library. */
const pageWidth = 'document.documentElement.scrollWidth'
const dayMs = 86_400_000
// The browser is in Tokyo and the schedule in Berlin, so the form offers both zones.
const browserZone = 'Asia/Tokyo'

function dayFromNow(days: number): string {
  return new Date(Date.now() + days * dayMs).toISOString().slice(0, 10)
}

describe.skipIf(!haveChromium)('schedule overrides on the on-call page in Chromium', () => {
  let dir: string
  let keel: RunningKeel
  let browser: Browser
  let desktop: BrowserContext
  let page: Page
  const tokens: Record<string, string> = {}
  const problems: string[] = []

  function watch(p: Page) {
    p.on('console', (message) => {
      // Chromium logs every failed fetch (the 400 of the bad override is expected here).
      if (message.type() === 'error' && !message.text().includes('Failed to load resource')) {
        problems.push(message.text())
      }
    })
    p.on('pageerror', (error) => problems.push(String(error)))
  }

  async function signedIn(
    role: 'operator' | 'viewer',
    options: { phone?: boolean; colorScheme: 'light' | 'dark' },
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: options.phone ? { width: 375, height: 812 } : { width: 1280, height: 800 },
      ...(options.phone ? { deviceScaleFactor: 2, isMobile: true, hasTouch: true } : {}),
      colorScheme: options.colorScheme,
      timezoneId: browserZone,
    })
    const p = await context.newPage()
    watch(p)
    await p.goto(`${keel.url}/`)
    await p.waitForURL(/\/login$/)
    await logIn(p, keel.url, tokens[role] as string)
    return { context, page: p }
  }

  const nowCard = (p: Page) => p.locator('.now-card', { hasText: 'primary' })

  beforeAll(async () => {
    ensureWebBuild()
    dir = mkdtempSync(join(tmpdir(), 'keel-oncall-browser-'))
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'users:',
        '  ann: { name: Ann Example }',
        '  bob: { name: Bob Example }',
        '  cho: { name: Cho Example }',
        'schedules:',
        '  primary:',
        '    timeZone: Europe/Berlin',
        '    layers:',
        '      - id: weekly',
        '        users: [ann, bob]',
        `        start: '${dayFromNow(-10)}T09:00'`,
        '        rotation: { every: 1, unit: week }',
        '  office:',
        '    timeZone: America/New_York',
        '    layers:',
        '      - id: days',
        '        users: [bob, cho]',
        `        start: '${dayFromNow(-3)}T00:00'`,
        '        rotation: { every: 1, unit: day }',
        '',
      ].join('\n'),
    )
    keel = await startKeelForBrowser(dir, 'oncall-browser-test')
    for (const role of ['operator', 'viewer'] as const) {
      const created = await createApiToken(
        { db: keel.store.db, clock: systemClock },
        { name: `${role}-browser`, role },
      )
      tokens[role] = created.token
    }
    browser = await launchChromium()
    ;({ context: desktop, page } = await signedIn('operator', { colorScheme: 'light' }))
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('adds an override for someone not on call, who then is on call now', async () => {
    await page.goto(`${keel.url}/oncall?schedule=primary`)
    await page.locator('[data-testid="calendar"][data-schedule="primary"]').waitFor()
    await page.getByTestId('no-overrides').waitFor()
    await expect.poll(() => nowCard(page).textContent()).toMatch(/Ann Example|Bob Example/)
    expect(await nowCard(page).textContent()).not.toContain('Cho Example')

    // The server's message shows under the field it is about.
    const to = DateTime.now().setZone(browserZone).plus({ hours: 3 }).toFormat("yyyy-LL-dd'T'HH:mm")
    await page.getByLabel('Who').fill('zed')
    await page.getByLabel(`To (${browserZone})`).fill(to)
    await page.getByRole('button', { name: 'Add override' }).click()
    const userError = page.locator('[data-field-error="override-user"]')
    await userError.waitFor()
    expect(await userError.textContent()).toContain('users: ann, bob, cho')

    // Times can be read in the schedule's zone instead; the labels say which.
    await page.getByRole('button', { name: 'schedule’s time' }).click()
    await page.getByLabel('From (Europe/Berlin)').waitFor()
    await page.getByRole('button', { name: 'your time' }).click()

    await page.getByLabel('Who').fill('cho')
    await page.getByLabel('Note').fill('covering for Ann')
    await page.getByRole('button', { name: 'Add override' }).click()
    const row = page.locator('[data-override]', { hasText: 'Cho Example' })
    await row.waitFor()
    expect(await row.textContent()).toContain('covering for Ann')
    expect(await row.textContent()).toContain('now')
    expect(await page.locator('[data-field-error]').count()).toBe(0)
    await expect.poll(() => nowCard(page).textContent()).toContain('Cho Example')
    expect(await nowCard(page).textContent()).toContain('override')
    await page
      .locator('.cal-span[data-source="override"][aria-label^="Cho Example"]')
      .first()
      .waitFor()
    // The header names the first schedule's person (office rotates daily between Bob and Cho),
    // so the override shows in its title, which lists every schedule.
    await expect
      .poll(() => page.getByTestId('oncall-now').getAttribute('title'))
      .toContain('primary: Cho Example')
    await page.mouse.move(0, 0)
    await page.evaluate('window.scrollTo(0, 0)')
    await saveScreenshot(page, 'oncall-overrides-light', true)
    if (process.env.KEEL_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(
        join(artifacts, 'oncall-overrides-light.png'),
        join(repoRoot, 'docs/screenshots/oncall-light.png'),
      )
    }
  }, 60_000)

  it('fits a dark phone, and shows a viewer the override without the form or remove buttons', async () => {
    const phone = await signedIn('operator', { phone: true, colorScheme: 'dark' })
    await phone.page.goto(`${keel.url}/oncall?schedule=primary`)
    await phone.page.locator('[data-override]', { hasText: 'Cho Example' }).waitFor()
    expect(await phone.page.evaluate(pageWidth)).toBeLessThanOrEqual(375)
    expect(await phone.page.evaluate('document.documentElement.dataset.theme')).toBe('dark')
    await saveScreenshot(phone.page, 'oncall-overrides-dark-phone', true)
    await phone.context.close()

    const viewer = await signedIn('viewer', { colorScheme: 'light' })
    await viewer.page.goto(`${keel.url}/oncall?schedule=primary`)
    await viewer.page.locator('[data-override]', { hasText: 'Cho Example' }).waitFor()
    expect(await nowCard(viewer.page).textContent()).toContain('Cho Example')
    expect(await viewer.page.getByRole('button', { name: /Remove/ }).count()).toBe(0)
    expect(await viewer.page.getByRole('form', { name: /New override/ }).count()).toBe(0)
    await viewer.context.close()
  }, 60_000)

  it('removes the override, which hands the shift back', async () => {
    await page.getByRole('button', { name: 'Remove the override of Cho Example' }).click()
    await page.locator('[data-override]').waitFor({ state: 'detached' })
    await page.getByTestId('no-overrides').waitFor()
    await expect.poll(() => nowCard(page).textContent()).not.toContain('Cho Example')
    expect(await page.locator('.cal-span[data-source="override"]').count()).toBe(0)
    await desktop.close()
    expect(problems).toEqual([])
  }, 60_000)
})

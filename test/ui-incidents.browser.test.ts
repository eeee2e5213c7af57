import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import type { RunningKeel } from '../src/cli/start-keel.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'
import {
  chromiumInstalled,
  launchChromium,
  logIn,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// The incident, on-call, silence and monitor-form pages, driven in Debian's Chromium against a
// real Keel started in-process: loopback monitors go down, incidents open, and the browser sees
// them arrive over the event stream. Screenshots land in test-artifacts/.

const haveChromium = chromiumInstalled('test/ui-incidents.browser.test.ts')

/** Page scripts as strings: this file is type-checked without the DOM library. */
const pageWidth = 'document.documentElement.scrollWidth'
const dayMs = 86_400_000

/** A wall-clock date `days` from now as `YYYY-MM-DD` (UTC), for schedule starts in keel.yaml. */
function dayFromNow(days: number): string {
  return new Date(Date.now() + days * dayMs).toISOString().slice(0, 10)
}

describe.skipIf(!haveChromium)('incidents, on-call, silences and monitor forms in Chromium', () => {
  let dir: string
  let target: ListeningServer
  const broken = new Set<string>()
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let phone: BrowserContext
  const offsite: string[] = []
  const consoleErrors: string[] = []
  const incidentIds: Record<string, string> = {}

  function watch(ctx: BrowserContext, p: Page) {
    ctx.on('request', (request) => {
      if (!request.url().startsWith(keel.url)) offsite.push(request.url())
    })
    p.on('console', (message) => {
      // Chromium logs every failed fetch (a 400 from a form is expected here).
      if (message.type() === 'error' && !message.text().includes('Failed to load resource')) {
        consoleErrors.push(message.text())
      }
    })
    p.on('pageerror', (error) => consoleErrors.push(String(error)))
  }

  async function shot(p: Page, name: string, fullPage = false) {
    // A sticky header would otherwise be drawn where the page happened to be scrolled.
    if (fullPage) await p.evaluate('window.scrollTo(0, 0)')
    await saveScreenshot(p, name, fullPage)
  }

  beforeAll(async () => {
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
    dir = mkdtempSync(join(tmpdir(), 'keel-ui-incidents-'))
    const base = `http://127.0.0.1:${target.port}`
    const monitor = (id: string, name: string, path: string, labels: string) => [
      `  ${id}:`,
      '    type: http',
      `    name: ${name}`,
      `    url: ${base}${path}`,
      '    interval: 1s',
      '    retries: 0',
      `    labels: { ${labels} }`,
    ]
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'monitors:',
        ...monitor('shop-api', 'Shop API health', '/api/health', 'team: web, service: shop-api'),
        ...monitor('search', 'Search', '/search', 'team: search, service: search'),
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
        '    overrides:',
        `      - { user: cho, start: '${dayFromNow(1)}T08:00:00Z', end: '${dayFromNow(1)}T20:00:00Z' }`,
        '  office:',
        '    timeZone: America/New_York',
        '    layers:',
        '      - id: days',
        '        users: [bob, cho]',
        `        start: '${dayFromNow(-3)}T00:00'`,
        '        rotation: { every: 1, unit: day }',
        '        restrictions:',
        '          - { days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00" }',
      ].join('\n'),
    )
    keel = await startKeelForBrowser(dir, 'ui-incidents-test', (t) => (token = t))
    browser = await launchChromium()
    context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
    })
    page = await context.newPage()
    watch(context, page)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    await target?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('logs in, shows who is on call in the header, and goes to incidents with g i', async () => {
    await page.goto(`${keel.url}/`)
    await page.waitForURL(/\/login$/)
    await logIn(page, keel.url, token)
    await page.locator('[data-monitor="shop-api"][data-state="up"]').waitFor({ timeout: 15_000 })
    await expect.poll(() => page.getByTestId('oncall-now').textContent()).toMatch(/On call/)
    await expect.poll(() => page.getByTestId('open-incidents').textContent()).toBe('0')

    await page.keyboard.press('g')
    await page.keyboard.press('i')
    await page.waitForURL(`${keel.url}/incidents`)
    await expect.poll(() => page.getByTestId('incident-count').textContent()).toBe('0 open')
  }, 60_000)

  it('shows new incidents live, without reloading, open ones first', async () => {
    await page.evaluate('window.keelNotReloaded = true')
    broken.add('/api/health')
    broken.add('/search')
    const row = (service: string) =>
      page.locator(`[data-incident][data-status="triggered"]`, {
        hasText: `service=${service}`,
      })
    await row('shop-api').waitFor({ timeout: 20_000 })
    await row('search').waitFor({ timeout: 20_000 })
    expect(await page.evaluate('window.keelNotReloaded')).toBe(true)
    await expect.poll(() => page.getByTestId('open-incidents').textContent()).toBe('2')
    for (const service of ['shop-api', 'search']) {
      incidentIds[service] = (await row(service).getAttribute('data-incident')) as string
    }
    await page.getByLabel('Filter by severity').selectOption('info')
    await expect.poll(() => page.locator('[data-incident]').count()).toBe(0)
    await page.getByLabel('Filter by severity').selectOption('')
    await expect.poll(() => page.locator('[data-incident]').count()).toBe(2)
    await page.mouse.move(0, 0)
    await shot(page, 'incidents-light')
  }, 60_000)

  it('acknowledges an incident on a phone with the big button, dark', async () => {
    phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
      storageState: await context.storageState(),
    })
    const p = await phone.newPage()
    watch(phone, p)
    await p.goto(`${keel.url}/incidents`)
    await p.locator(`[data-incident="${incidentIds['shop-api']}"]`).waitFor({ timeout: 15_000 })
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(390)
    await shot(p, 'incidents-dark-phone')
    await p.locator(`[data-incident="${incidentIds['shop-api']}"]`).click()
    await p.locator(`[data-incident-page="${incidentIds['shop-api']}"]`).waitFor()
    const ack = p.getByRole('button', { name: 'Acknowledge' })
    const box = await ack.boundingBox()
    // A thumb-sized bar at the bottom of the screen.
    expect(box?.width).toBeGreaterThan(150)
    expect(box?.height).toBeGreaterThanOrEqual(48)
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeGreaterThan(760)
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(390)
    await shot(p, 'incident-dark-phone')
    await ack.tap()
    await p.locator('[data-testid="incident-status"] [data-status="acknowledged"]').waitFor()
    await p.getByRole('button', { name: 'Acknowledge' }).waitFor({ state: 'detached' })
    await shot(p, 'incident-acked-dark-phone', true)
    await p.close()
  }, 60_000)

  it('acknowledges with the a key, adds a note, and silences an alert in one click', async () => {
    // The phone's acknowledgement reached the desktop list over the event stream.
    await page
      .locator(`[data-incident="${incidentIds['shop-api']}"][data-status="acknowledged"]`)
      .waitFor({ timeout: 15_000 })
    await page.locator(`[data-incident="${incidentIds.search}"]`).click()
    await page.waitForURL(`${keel.url}/incidents/${incidentIds.search}`)
    await page.getByRole('button', { name: 'Acknowledge' }).waitFor()
    await page.keyboard.press('a')
    await page.locator('[data-testid="incident-status"] [data-status="acknowledged"]').waitFor()

    await page.keyboard.press('n')
    expect(await page.evaluate('document.activeElement.id')).toBe('note')
    await page.keyboard.type('Search index rebuild is running; restarting the node.')
    await page.getByRole('button', { name: 'Add note' }).click()
    await page
      .locator('[data-testid="timeline"] [data-kind="note"]', { hasText: 'index rebuild' })
      .waitFor()
    expect(await page.locator('[data-testid="timeline"] [data-kind="acknowledged"]').count()).toBe(
      1,
    )

    // The same form publishes an update to the status page when asked to.
    await page.locator('#note').fill('Search is slow; we are rebuilding its index.')
    await page.getByLabel('Publish on the status page').check()
    await page.getByRole('button', { name: 'Publish update' }).click()
    const update = page.locator('[data-testid="timeline"] [data-kind="publicUpdate"]')
    await update.waitFor()
    expect(await update.textContent()).toContain('published on the status page')
    expect(await page.getByLabel('Publish on the status page').isChecked()).toBe(false)

    await page.getByRole('button', { name: 'Draft it' }).click()
    await expect.poll(() => page.getByTestId('postmortem').textContent()).toContain('index rebuild')

    await page.mouse.move(0, 0)
    await shot(page, 'incident-light', true)

    const alert = page.locator('[data-alert]').first()
    await alert.getByRole('button', { name: 'Silence 2h' }).click()
    await expect.poll(() => alert.getByTestId('silenced').textContent()).toContain('Silenced until')
  }, 60_000)

  it('lists the new silence and expires it', async () => {
    await page.getByRole('link', { name: 'See silences' }).click()
    await page.waitForURL(`${keel.url}/silences`)
    const silence = page.locator('[data-silence][data-state="active"]').first()
    await silence.waitFor()
    expect(await silence.textContent()).toContain('service="search"')
    await shot(page, 'silences-light')
    await silence.getByRole('button', { name: 'Expire' }).click()
    await page.locator('[data-silence][data-state="active"]').waitFor({ state: 'detached' })

    await page.getByLabel('Matchers').fill('service="shop-api"\nteam="web"')
    await page.getByLabel('Comment').fill('Deploying the shop API')
    await page.getByRole('button', { name: 'Create silence' }).click()
    await page
      .locator('[data-silence][data-state="active"]', { hasText: 'Deploying the shop API' })
      .waitFor()

    await page.keyboard.press('g')
    await page.keyboard.press('m')
    await page.waitForURL(`${keel.url}/maintenance`)
    await page.getByLabel('Title').fill('Database upgrade')
    await page.getByLabel('Matchers').fill('service="search"')
    // An end before the start is refused by the server, next to the field it names.
    await page.getByLabel('Starts').fill('2030-01-05T02:00')
    await page.getByLabel('Ends').fill('2030-01-05T01:00')
    await page.getByRole('button', { name: 'Create window' }).click()
    await expect
      .poll(() => page.locator('[data-field-error="mw-end"]').textContent())
      .toContain('must be after')
    await page.getByLabel('Ends').fill('2030-01-05T04:00')
    await page.getByRole('button', { name: 'Create window' }).click()
    const window = page.locator('[data-window][data-state="scheduled"]', {
      hasText: 'Database upgrade',
    })
    await window.waitFor()
    await shot(page, 'maintenance-light', true)
    await window.getByRole('button', { name: 'Delete' }).click()
    await window.waitFor({ state: 'detached' })
  }, 60_000)

  it('reassigns an incident to someone else and resolves it, and the API agrees', async () => {
    const id = incidentIds['shop-api'] as string
    await page.goto(`${keel.url}/incidents/${id}`)
    await page.locator(`[data-incident-page="${id}"]`).waitFor()
    const assignee = page.getByTestId('assignee')
    const timeline = page.getByTestId('timeline')
    expect(await assignee.textContent()).not.toBe('cho')

    await page.getByLabel('Assignee', { exact: true }).fill('cho')
    await page.getByRole('button', { name: 'Reassign' }).click()
    await expect.poll(() => assignee.textContent()).toBe('cho')
    await timeline.locator('[data-kind="reassigned"]', { hasText: 'cho' }).waitFor()
    await page.mouse.move(0, 0)
    await shot(page, 'incident-reassigned-light', true)

    await page.getByRole('button', { name: 'Resolve' }).click()
    await page.locator('[data-testid="incident-status"] [data-status="resolved"]').waitFor()
    await timeline.locator('[data-kind="resolved"]').waitFor()
    await page.getByRole('button', { name: 'Resolve' }).waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Reopen' }).waitFor()
    expect(await assignee.textContent()).toBe('cho')
    // The server refuses to reassign a resolved incident, so the form says so instead of trying.
    const assigneeBox = page.getByLabel('Assignee', { exact: true })
    await assigneeBox.fill('ann')
    const reassign = page.getByRole('button', { name: 'Reassign' })
    expect(await reassign.isDisabled()).toBe(true)
    expect(await reassign.getAttribute('title')).toContain('reopen it')
    // The next tests type shortcuts, which a focused text box would swallow.
    await assigneeBox.blur()
    await shot(page, 'incident-resolved-light', true)

    const response = await fetch(`${keel.url}/api/v1/incidents/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(response.status).toBe(200)
    const stored = (await response.json()) as {
      status: string
      assignee?: string
      timeline: { kind: string; text: string }[]
    }
    expect(stored.status).toBe('resolved')
    expect(stored.assignee).toBe('cho')
    const kinds = stored.timeline.map((entry) => entry.kind)
    expect(kinds).toContain('reassigned')
    expect(kinds.indexOf('resolved')).toBeGreaterThan(kinds.indexOf('reassigned'))
  }, 60_000)

  it('creates a monitor through the form, showing the server’s field error first', async () => {
    await page.keyboard.press('g')
    await page.keyboard.press('n')
    await page.waitForURL(`${keel.url}/monitors/new`)
    await page.getByLabel('Id').fill('docs-site')
    await page.getByLabel('Name').fill('Docs site')
    await page.getByLabel('URL').fill('docs.example.org/health')
    await page.getByLabel('Labels').fill('team=docs')
    await page.getByRole('button', { name: 'Create monitor' }).click()
    const urlError = page.locator('[data-field-error="m-url"]')
    await expect.poll(() => urlError.textContent()).toContain('absolute http')
    await shot(page, 'monitor-form-error-light', true)

    await page.getByLabel('URL').fill(`http://127.0.0.1:${target.port}/docs`)
    await page.getByRole('button', { name: 'Create monitor' }).click()
    await page.waitForURL(`${keel.url}/monitors/docs-site`)
    await page.locator('[data-monitor-page="docs-site"]').waitFor()
    await page.getByRole('link', { name: 'Edit it' }).click()
    await page.waitForURL(`${keel.url}/monitors/docs-site/edit`)
    expect(await page.getByLabel('URL').inputValue()).toBe(`http://127.0.0.1:${target.port}/docs`)

    // A monitor from keel.yaml is read-only, with its file named.
    await page.goto(`${keel.url}/monitors/search/edit`)
    expect(await page.getByTestId('read-only').textContent()).toContain('keel.yaml')
  }, 60_000)

  it('shows the on-call calendar with overrides and gaps, and the shortcut help', async () => {
    await page.keyboard.press('g')
    await page.keyboard.press('c')
    await page.waitForURL(`${keel.url}/oncall`)
    await page.locator('[data-testid="calendar"][data-schedule="office"]').waitFor()
    await page.locator('.now-card', { hasText: 'primary' }).click()
    await page.locator('[data-testid="calendar"][data-schedule="primary"]').waitFor()
    await page.locator('.cal-span[data-source="override"]').first().waitFor()
    expect(await page.locator('.cal-span', { hasText: 'Cho Example' }).count()).toBeGreaterThan(0)
    expect(await page.getByTestId('calendar').textContent()).toContain('Europe/Berlin')
    await page.mouse.move(0, 0)
    await shot(page, 'oncall-light', true)

    await page.locator('.now-card', { hasText: 'office' }).click()
    await page.locator('[data-testid="calendar"][data-schedule="office"]').waitFor()
    await page.getByTestId('gaps').waitFor()
    expect(await page.locator('.cal-span[data-source="gap"]').count()).toBeGreaterThan(0)

    await page.keyboard.press('?')
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
    await help.waitFor()
    expect(await help.textContent()).toContain('Acknowledge the incident')
    await shot(page, 'shortcuts-light')
    await page.keyboard.press('Escape')
    await help.waitFor({ state: 'detached' })

    const p = await phone.newPage()
    watch(phone, p)
    await p.goto(`${keel.url}/oncall?schedule=primary`)
    await p.locator('.cal-span[data-source="override"]').first().waitFor()
    expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(390)
    await shot(p, 'oncall-dark-phone', true)
    await p.close()
    await phone.close()
  }, 60_000)

  it('reads well in the other themes: desktop dark, phone light', async () => {
    const storageState = await context.storageState()
    const dark = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      colorScheme: 'dark',
      storageState,
    })
    const d = await dark.newPage()
    watch(dark, d)
    await d.goto(`${keel.url}/incidents/${incidentIds.search}`)
    await d.locator('[data-testid="timeline"] [data-kind="note"]').first().waitFor()
    expect(await d.evaluate('document.documentElement.dataset.theme')).toBe('dark')
    await shot(d, 'incident-dark', true)
    await d.goto(`${keel.url}/oncall?schedule=office&weeks=1`)
    await d.locator('.cal-span[data-source="gap"]').first().waitFor()
    await shot(d, 'oncall-dark', true)
    await dark.close()

    const light = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'light',
      storageState,
    })
    const p = await light.newPage()
    watch(light, p)
    for (const [path, ready, name] of [
      ['/silences', '[data-silence]', 'silences-light-phone'],
      ['/monitors/new', '#m-url', 'monitor-form-light-phone'],
      [`/incidents/${incidentIds.search}`, '[data-kind="note"]', 'incident-light-phone'],
    ] as const) {
      await p.goto(`${keel.url}${path}`)
      await p.locator(ready).first().waitFor()
      expect(await p.evaluate(pageWidth)).toBeLessThanOrEqual(390)
      await shot(p, name, true)
    }
    await light.close()
  }, 60_000)

  it('loaded nothing from anywhere else and logged no errors', () => {
    expect(offsite).toEqual([])
    expect(consoleErrors).toEqual([])
  })
})

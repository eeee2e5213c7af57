import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../scripts/ensure-web-build.js'
import type { RunningKeel } from '../src/cli/start-keel.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'
import {
  artifacts,
  chromiumInstalled,
  launchChromium,
  logIn,
  repoRoot,
  saveScreenshot,
  startKeelForBrowser,
} from './helpers/browser.js'

// The catalog and entity pages in Debian's Chromium against a real Keel with real monitors: the
// entity page shows health, impact and the live SVG diagram, and follows a database going down.

const haveChromium = chromiumInstalled('test/catalog.browser.test.ts')

/** The width of a loaded image, 0 while it loads (typed loosely: no DOM library here). */
function loadedWidth(element: unknown): number {
  const img = element as { complete: boolean; naturalWidth: number }
  return img.complete ? img.naturalWidth : 0
}

describe.skipIf(!haveChromium)('the catalog pages in Chromium', () => {
  let dir: string
  let target: ListeningServer
  const broken = new Set<string>()
  let keel: RunningKeel
  let token = ''
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    ensureWebBuild()
    target = await listenOnLoopback(
      createServer((request, response) => {
        const down = broken.has(request.url ?? '/')
        response
          .writeHead(down ? 500 : 200, { 'content-type': 'text/plain' })
          .end(down ? 'no' : 'ok')
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'keel-catalog-ui-'))
    const base = `http://127.0.0.1:${target.port}`
    const monitor = (id: string, path: string, labels: string) => [
      `  ${id}:`,
      '    type: http',
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
        ...monitor('shop-home', '/home', 'service: shop'),
        ...monitor('shop-api-health', '/api', 'service: shop-api'),
        ...monitor('search-health', '/search', 'service: search'),
        ...monitor('db-port', '/db', 'entity: shop-db'),
        'catalog:',
        '  entities:',
        '    shop: { kind: website, name: Demo shop, owner: web, tier: 1, dependsOn: [shop-api, search] }',
        '    shop-api: { kind: api, name: Shop API, owner: web, tier: 1, dependsOn: [shop-db] }',
        '    search: { kind: service, name: Search, owner: web, dependsOn: [shop-db] }',
        '    reports: { kind: service, name: Reports, owner: data, dependsOn: [shop-db] }',
        '    shop-db:',
        '      kind: database',
        '      name: Shop database',
        '      description: The PostgreSQL primary behind the shop.',
        '      owner: dba',
        '      tier: 1',
        '      lifecycle: production',
        '      dependsOn: [db-host]',
        '      runbooks: [db-failover]',
        "      links: [{ title: Dashboard, url: 'https://grafana.example.org/d/db' }]",
        '    db-host: { kind: host, name: db-host-1, owner: dba }',
      ].join('\n'),
    )
    keel = await startKeelForBrowser(dir, 'catalog-ui-test', (t) => (token = t))
    browser = await launchChromium()
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`${keel.url}/login`)
    await logIn(page, keel.url, token)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await keel?.stop(2_000)
    await target?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('lists the catalog with live health and opens an entity from the nav', async () => {
    await page.getByRole('link', { name: 'Catalog' }).click()
    await page.waitForURL(`${keel.url}/catalog`)
    await expect.poll(() => page.locator('[data-entity]').count()).toBe(6)
    await page.locator('[data-entity="shop-db"] [data-health="up"]').waitFor({ timeout: 20_000 })
    await page.getByRole('link', { name: 'Shop database' }).click()
    await page.waitForURL(`${keel.url}/catalog/shop-db`)
    await page.getByRole('heading', { name: 'Shop database', exact: true }).waitFor()
  }, 60_000)

  it('shows impact, monitors and the SVG diagram, and follows the database going down', async () => {
    const impact = page.getByTestId('impact-list')
    await expect.poll(() => impact.locator('li').count()).toBe(4)
    expect(await impact.textContent()).toContain('Demo shop')
    const diagram = page.getByTestId('entity-diagram')
    await expect
      .poll(() => diagram.evaluate(loadedWidth), {
        timeout: 15_000,
      })
      .toBeGreaterThan(300)

    broken.add('/db')
    broken.add('/api')
    await page.locator('.page-head [data-health="down"]').waitFor({ timeout: 20_000 })
    // Impact and diagram are re-read on the same tick: once the list shows the API down, the
    // diagram asked for at that tick shows it too.
    await impact.locator('li', { hasText: 'Shop API' }).locator('[data-health="down"]').waitFor({
      timeout: 20_000,
    })
    await page.locator('[data-count="down"] .count-n', { hasText: '2' }).waitFor()
    // The database's monitor alert opened an incident, which its page lists with the alert.
    const trouble = page.getByTestId('entity-trouble')
    await trouble.locator('[data-incident]').first().waitFor({ timeout: 20_000 })
    await trouble.locator('[data-alert]').first().waitFor({ timeout: 20_000 })
    // The diagram is re-read after the change: its URL carries a new version.
    await expect.poll(() => diagram.getAttribute('src'), { timeout: 15_000 }).not.toMatch(/&v=0$/)
    await expect
      .poll(() => diagram.evaluate(loadedWidth), {
        timeout: 15_000,
      })
      .toBeGreaterThan(300)
    const svg = await page.evaluate(
      "fetch('/api/v1/catalog/shop-db/diagram.svg?depth=2').then((r) => r.text())",
    )
    expect(svg).toContain('data-id="shop-db" data-health="down"')
    await page.mouse.move(0, 0)
    await saveScreenshot(page, 'catalog-entity-light', true)
    if (process.env.KEEL_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(
        join(artifacts, 'catalog-entity-light.png'),
        join(repoRoot, 'docs/screenshots/catalog-entity-light.png'),
      )
    }
    await page.getByRole('button', { name: 'Copy Mermaid' }).click()
    await expect.poll(() => page.locator('.mermaid-text').textContent()).toContain('flowchart LR')
    expect(pageErrors).toEqual([])
  }, 90_000)

  it('reads well dark at phone width', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      colorScheme: 'dark',
      storageState: await page.context().storageState(),
    })
    const p = await phone.newPage()
    for (const path of ['/catalog', '/catalog/shop-db']) {
      await p.goto(`${keel.url}${path}`)
      await p
        .locator(path === '/catalog' ? '[data-entity]' : '[data-testid="impact-list"]')
        .first()
        .waitFor()
      expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    }
    await saveScreenshot(p, 'catalog-entity-dark-phone', true)
    await phone.close()
  }, 60_000)

  it('shows a javascript: link stored before links were checked as text, never as a link', async () => {
    // Written straight to the store, as a row from an older Keel would be.
    const spec = {
      kind: 'host',
      name: 'db-host-1',
      owner: 'dba',
      labels: {},
      links: [
        { title: 'Evil', url: 'javascript:alert(document.cookie)' },
        { title: 'Grafana', url: 'https://grafana.example.org/d/host' },
      ],
      dependsOn: [],
      runbooks: [],
    }
    await keel.store.db
      .updateTable('catalog_entities')
      .set({ spec: JSON.stringify(spec) })
      .where('id', '=', 'db-host')
      .execute()
    await page.goto(`${keel.url}/catalog/db-host`)
    await page.getByText('Grafana', { exact: true }).waitFor()
    expect(await page.locator('a', { hasText: 'Evil' }).count()).toBe(0)
    expect(await page.locator('.unsafe-link', { hasText: 'Evil' }).count()).toBe(1)
    expect(await page.locator('a[href^="javascript"]').count()).toBe(0)
    expect(await page.locator('a', { hasText: 'Grafana' }).getAttribute('href')).toBe(
      'https://grafana.example.org/d/host',
    )
  }, 60_000)
})

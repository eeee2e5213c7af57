import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startKeel, type RunningKeel } from '../../src/cli/start-keel.js'
import { requireOrSkip } from './require-or-skip.js'

// Browser tests drive Debian's Chromium (never a downloaded browser) against a real Keel started
// in-process, and leave their screenshots in test-artifacts/.

const chromiumPath = '/usr/bin/chromium'
const launchArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** The repository root, for files the browser tests read or copy. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** Where browser tests save their screenshots. */
export const artifacts = join(repoRoot, 'test-artifacts')

/**
 * True when Chromium is installed; otherwise warns that `testFile` is skipped and how to fix it,
 * or under CI=true throws (see `requireOrSkip`).
 */
export function chromiumInstalled(testFile: string): boolean {
  if (existsSync(chromiumPath)) return true
  requireOrSkip('chromium', `${chromiumPath} is missing, so ${testFile} is skipped`)
  return false
}

/** Launches headless Chromium with the flags every browser test uses. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: launchArgs })
}

/** Starts Keel in-process on a loopback port with `dir/keel.yaml`, logging nothing. */
export function startKeelForBrowser(
  dir: string,
  nodeId: string,
  onBootstrapToken?: (token: string) => void,
): Promise<RunningKeel> {
  return startKeel({
    configPath: join(dir, 'keel.yaml'),
    env: {},
    log: pino({ level: 'silent' }),
    listen: '127.0.0.1:0',
    nodeId,
    ...(onBootstrapToken ? { onBootstrapToken } : {}),
  })
}

/** Signs in on the login page already open in `page` and waits for the overview at `keelUrl`. */
export async function logIn(page: Page, keelUrl: string, token: string): Promise<void> {
  await page.locator('#token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${keelUrl}/`)
}

/** Saves a screenshot of `page` as test-artifacts/`name`.png. */
export async function saveScreenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage })
}

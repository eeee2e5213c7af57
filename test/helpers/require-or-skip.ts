// Tests that need something outside Node (PostgreSQL, Chromium, Alertmanager, the monitoring
// plugins, ping) skip with a warning on a developer's machine that lacks it, but fail under CI,
// where .ci/run installs all of them: a CI run that skipped them would pass by accident.

/** What a test may need from the machine, and how .ci/run provides it. */
export const requirements = {
  postgres:
    'set KEEL_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test (.ci/run starts PostgreSQL and sets it)',
  chromium: 'apt-get install chromium (.ci/run installs it)',
  alertmanager: 'apt-get install prometheus-alertmanager (.ci/run installs it)',
  'monitoring-plugins':
    'apt-get install monitoring-plugins-basic monitoring-plugins-standard (.ci/run installs them)',
  ping: 'apt-get install iputils-ping (.ci/run installs it)',
} as const

/** One thing a test may need from the machine. */
export type Requirement = keyof typeof requirements

/**
 * Called when `what` is missing: under `CI=true` it throws, naming what is missing and how
 * .ci/run installs it, so the run fails; elsewhere it warns and returns the reason to skip with.
 * `why` says what is missing and which tests need it.
 */
export function requireOrSkip(
  what: Requirement,
  why: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const message = `${what} is missing: ${why}; to run these tests, ${requirements[what]}`
  if (env.CI === 'true' || env.CI === '1') {
    throw new Error(`${message}. CI=true, so a missing ${what} fails the run instead of skipping`)
  }
  console.warn(`skipped: ${message}`)
  return message
}

import { afterEach, describe, expect, it, vi } from 'vitest'
import { requireOrSkip, requirements, type Requirement } from './require-or-skip.js'

describe('requireOrSkip', () => {
  afterEach(() => vi.restoreAllMocks())

  it.each(Object.keys(requirements) as Requirement[])(
    'fails the run under CI=true when %s is missing, naming it and how .ci/run installs it',
    (what) => {
      const run = () =>
        requireOrSkip(what, 'the tests that need it would be skipped', { CI: 'true' })
      expect(run).toThrow(`${what} is missing`)
      expect(run).toThrow(requirements[what])
      expect(run).toThrow('.ci/run')
    },
  )

  it.each([{ CI: undefined }, { CI: 'false' }, {}])(
    'warns and returns the reason to skip outside CI (%o)',
    (env) => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
      const reason = requireOrSkip('chromium', '/usr/bin/chromium is missing', env)
      expect(reason).toContain('chromium is missing: /usr/bin/chromium is missing')
      expect(reason).toContain('apt-get install chromium')
      expect(warn).toHaveBeenCalledWith(`skipped: ${reason}`)
    },
  )

  it('names the PostgreSQL variable to set', () => {
    expect(() => requireOrSkip('postgres', 'the PostgreSQL half', { CI: 'true' })).toThrow(
      'KEEL_TEST_POSTGRES_URL',
    )
  })
})

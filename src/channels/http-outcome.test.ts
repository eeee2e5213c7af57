import { describe, expect, it } from 'vitest'
import { outcomeForResponse, parseRetryAfter, withoutSecrets } from './http-outcome.js'

const now = Date.UTC(2025, 2, 1, 12, 0, 0)

describe('parseRetryAfter', () => {
  it.each([
    ['reads delay-seconds', '120', 120_000],
    ['reads zero seconds', '0', 0],
    ['trims whitespace', ' 5 ', 5_000],
    ['reads an IMF-fixdate relative to now', 'Sat, 01 Mar 2025 12:01:30 GMT', 90_000],
    ['clamps a date in the past to zero', 'Sat, 01 Mar 2025 11:00:00 GMT', 0],
    ['ignores a missing header', undefined, undefined],
    ['ignores negative seconds', '-5', undefined],
    ['ignores fractional seconds', '1.5', undefined],
    ['ignores words', 'soon', undefined],
    ['reads a four-digit number as seconds, not as a year', '2026', 2_026_000],
  ])('%s', (_name, header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected)
  })
})

describe('outcomeForResponse', () => {
  it.each([
    ['204 is delivered', 204, {}, '', { kind: 'delivered' }],
    [
      '503 is retried',
      503,
      {},
      'down',
      { kind: 'retry', reason: 'hook: x answered HTTP 503: down' },
    ],
    [
      '503 with Retry-After is retried after it',
      503,
      { 'retry-after': '7' },
      '',
      { kind: 'retry', afterMs: 7_000 },
    ],
    ['429 is retried', 429, {}, '', { kind: 'retry' }],
    ['408 is retried', 408, {}, '', { kind: 'retry' }],
    [
      '400 fails with the body',
      400,
      {},
      'bad field',
      { kind: 'failed', reason: expect.stringContaining('HTTP 400: bad field;') },
    ],
    [
      '401 fails pointing at credentials',
      401,
      {},
      '',
      { kind: 'failed', reason: expect.stringContaining('credentials') },
    ],
    [
      '404 fails pointing at the url',
      404,
      {},
      '',
      { kind: 'failed', reason: expect.stringContaining('`url`') },
    ],
    [
      '302 fails naming the redirect target',
      302,
      { location: 'https://y/' },
      '',
      { kind: 'failed', reason: expect.stringContaining('to https://y/') },
    ],
  ])('%s', (_name, status, headers, snippet, expected) => {
    const outcome = outcomeForResponse('hook: x', status, headers, snippet, now)
    expect(outcome).toMatchObject(expected)
    if (outcome.kind === 'retry' && !('retry-after' in headers))
      expect(outcome.afterMs).toBeUndefined()
  })
})

describe('outcomeForResponse hints and redirects', () => {
  it.each([
    ['names the credentials field it is told', 401, {}, 'check the credentials in `token`'],
    ['names the address field it is told', 404, {}, 'check `server`; the receiver'],
    [
      'shows only the origin of a redirect, since webhook paths carry tokens',
      301,
      { location: 'https://hooks.example/services/T/B/secret' },
      'redirect to https://hooks.example/…); set `server`',
    ],
    [
      'describes a relative redirect without its path',
      307,
      { location: '/secret' },
      'redirect to another path',
    ],
  ])('%s', (_name, status, headers, expected) => {
    const outcome = outcomeForResponse('x', status, headers, '', now, {
      address: '`server`',
      credentials: '`token`',
    })
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining(expected) })
    expect(JSON.stringify(outcome)).not.toContain('secret')
  })
})

describe('withoutSecrets', () => {
  it.each([
    [
      'a plain secret',
      { kind: 'failed', reason: 'bad tok:en here' } as const,
      'bad <redacted> here',
    ],
    ['its URL-encoded form', { kind: 'retry', reason: 'at /tok%3Aen' } as const, 'at /<redacted>'],
    ['a delivered detail', { kind: 'delivered', detail: 'tok:en ok' } as const, '<redacted> ok'],
  ])('replaces %s', (_name, outcome, expected) => {
    const clean = withoutSecrets(outcome, ['tok:en'])
    expect(clean.kind === 'delivered' ? clean.detail : clean.reason).toBe(expected)
  })

  it('leaves an outcome alone when there are no secrets', () => {
    const outcome = { kind: 'failed', reason: 'r' } as const
    expect(withoutSecrets(outcome, [''])).toBe(outcome)
  })
})

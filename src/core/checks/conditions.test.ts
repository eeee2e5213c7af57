import { describe, expect, it } from 'vitest'
import { evaluateConditions, parseCondition, type ConditionContext } from './conditions.js'

const body = JSON.stringify({
  status: 'UP',
  version: '1.4.2',
  count: 3,
  ready: true,
  nothing: null,
  items: [
    { name: 'db', state: 'ok' },
    { name: 'cache', state: 'degraded' },
  ],
  empty: [],
})

const http: ConditionContext = {
  status: 200,
  responseTimeMs: 120,
  body,
  certificateExpirationMs: 10 * 86_400_000,
  connected: true,
  ip: '127.0.0.1',
}

describe('evaluateConditions', () => {
  it.each<[string, string, ConditionContext, boolean]>([
    ['a matching status passes', '[STATUS] == 200', http, true],
    ['a different status fails', '[STATUS] == 201', http, false],
    ['!= passes for another status', '[STATUS] != 500', http, true],
    ['< compares numbers', '[STATUS] < 300', http, true],
    ['>= at the boundary passes', '[STATUS] >= 200', http, true],
    ['> at the boundary fails', '[STATUS] > 200', http, false],
    ['response time under a number of ms passes', '[RESPONSE_TIME] < 500', http, true],
    ['response time under a duration passes', '[RESPONSE_TIME] <= 1s', http, true],
    ['response time over a duration fails', '[RESPONSE_TIME] < 100ms', http, false],
    [
      'a certificate valid for 10 days is more than 72h',
      '[CERTIFICATE_EXPIRATION] > 72h',
      http,
      true,
    ],
    [
      'a certificate valid for 10 days is not more than 2w',
      '[CERTIFICATE_EXPIRATION] > 2w',
      http,
      false,
    ],
    ['a JSON path string equals', '[BODY].status == UP', http, true],
    ['a quoted string equals', '[BODY].version == "1.4.2"', http, true],
    ['a JSON path into an array', '[BODY].items[1].state == degraded', http, true],
    ['a JSON number compares numerically', '[BODY].count > 2', http, true],
    ['a JSON boolean equals true', '[BODY].ready == true', http, true],
    ['a JSON null equals null', '[BODY].nothing == null', http, true],
    ['a missing JSON path fails even with !=', '[BODY].absent != x', http, false],
    ['an index past the end is missing', '[BODY].items[5].name == db', http, false],
    ['len of an array', 'len([BODY].items) == 2', http, true],
    ['len of an empty array is not > 0', 'len([BODY].empty) > 0', http, false],
    ['len of a string', 'len([BODY].version) == 5', http, true],
    ['len of a JSON body counts its keys', 'len([BODY]) == 7', http, true],
    ['has of a present key', 'has([BODY].ready) == true', http, true],
    ['has of an absent key is false', 'has([BODY].absent) == false', http, true],
    ['has of an absent key is not true', 'has([BODY].absent) == true', http, false],
    ['a glob matches the body', '[BODY] == pat(*"status":"UP"*)', http, true],
    ['a glob that does not match', '[BODY].status == pat(DOWN*)', http, false],
    ['a negated glob', '[BODY].status != pat(DOWN*)', http, true],
    ['? matches one character', '[IP] == pat(127.0.0.?)', http, true],
    ['any of several statuses', '[STATUS] == any(200, 201, 204)', http, true],
    ['none of several statuses', '[STATUS] == any(500, 503)', http, false],
    ['any of quoted strings', '[BODY].status == any("UP", "OK")', http, true],
    ['connected is true', '[CONNECTED] == true', http, true],
    ['connected is not false', '[CONNECTED] == false', http, false],
    ['the literal may come first', '300 > [STATUS]', http, true],
    ['a literal first with a failing order', '100 > [STATUS]', http, false],
    ['two placeholders compare', '[BODY].count < [STATUS]', http, true],
    ['an unobserved placeholder fails', '[DNS_RCODE] == NOERROR', http, false],
    ['a DNS rcode matches', '[DNS_RCODE] == NXDOMAIN', { dnsRcode: 'NXDOMAIN' }, true],
    ['an exit code compares', '[EXIT_CODE] == 0', { exitCode: 0 }, true],
    ['a result text globs', '[RESULT] == pat(OK*)', { result: 'OK - all good' }, true],
    ['a JSON path into a non-JSON body is missing', '[BODY].a == 1', { body: 'plain text' }, false],
    ['a raw text body equals', '[BODY] == pong', { body: 'pong' }, true],
    ['a numeric text body orders', '[BODY] >= 10', { body: '42' }, true],
    ['a non-numeric body never orders', '[BODY] >= 10', { body: 'many' }, false],
    [
      'an expired certificate is below 0',
      '[CERTIFICATE_EXPIRATION] < 0',
      { certificateExpirationMs: -5 },
      true,
    ],
  ])('%s: %s', (_name, condition, observed, expected) => {
    const verdict = evaluateConditions([condition], observed)
    expect(verdict.ok).toBe(expected)
    expect(verdict.failures).toHaveLength(expected ? 0 : 1)
  })

  it.each<[string, string, ConditionContext, string]>([
    [
      'a failed status names the observed value',
      '[STATUS] == 200',
      { status: 503 },
      '[STATUS] (503) == 200',
    ],
    [
      'a failed JSON path names the value',
      '[BODY].status == UP',
      { body: '{"status":"DOWN"}' },
      '[BODY].status (DOWN) == UP',
    ],
    ['a missing value says so', '[BODY].x == 1', { body: '{}' }, '[BODY].x (missing) == 1'],
    [
      'a slow response shows ms',
      '[RESPONSE_TIME] < 500',
      { responseTimeMs: 812.4 },
      '[RESPONSE_TIME] (812ms) < 500',
    ],
    [
      'a certificate shows its remaining time',
      '[CERTIFICATE_EXPIRATION] > 72h',
      { certificateExpirationMs: 86_400_000 },
      '[CERTIFICATE_EXPIRATION] (1d) > 72h',
    ],
    [
      'len shows the length',
      'len([BODY].items) > 0',
      { body: '{"items":[]}' },
      'len([BODY].items) (0) > 0',
    ],
    [
      'a literal-first condition shows the value on the right',
      '200 == [STATUS]',
      { status: 404 },
      '200 == [STATUS] (404)',
    ],
    [
      'a long body is cut short',
      '[BODY] == ok',
      { body: 'x'.repeat(200) },
      `[BODY] (${'x'.repeat(77)}...) == ok`,
    ],
    [
      'an invalid condition explains itself',
      '[STATUS] = 200',
      { status: 200 },
      'condition "[STATUS] = 200": "=" at position 10 is not an operator; use ==, !=, <, <=, > or >=',
    ],
  ])('%s', (_name, condition, observed, message) => {
    expect(evaluateConditions([condition], observed).failures).toEqual([message])
  })

  it('reports every failing condition and passes the others', () => {
    const verdict = evaluateConditions(
      ['[STATUS] == 200', '[RESPONSE_TIME] < 100', '[BODY].status == UP', '[CONNECTED] == true'],
      { status: 500, responseTimeMs: 250, body: '{"status":"UP"}', connected: true },
    )
    expect(verdict).toEqual({
      ok: false,
      failures: ['[STATUS] (500) == 200', '[RESPONSE_TIME] (250ms) < 100'],
    })
  })

  it('passes an empty list', () => {
    expect(evaluateConditions([], {})).toEqual({ ok: true, failures: [] })
  })
})

describe('parseCondition', () => {
  it.each<[string, string, string]>([
    ['an empty condition', '  ', 'empty'],
    ['no operator', '[STATUS]', 'has no operator'],
    ['an unknown placeholder', '[STATU] == 200', 'unknown placeholder [STATU]'],
    ['a bare word instead of a placeholder', 'STATUS == 200', 'compares no placeholder'],
    [
      'a path on a placeholder other than [BODY]',
      '[STATUS].code == 200',
      'only [BODY] takes a JSON path',
    ],
    ['a malformed JSON path', '[BODY].items[x] == 1', 'JSON path'],
    ['an unknown function', 'size([BODY]) == 1', 'unknown function size()'],
    ['pat() on the left', 'pat(*x*) == [BODY]', 'right side'],
    ['pat() with an ordering operator', '[BODY] > pat(*x*)', 'work with == and !='],
    ['a status compared with a word', '[STATUS] == ok', '[STATUS] == needs a number'],
    [
      'a response time compared with a word',
      '[RESPONSE_TIME] < fast',
      'a number (ms) or a duration',
    ],
    ['a duration against a status', '[STATUS] < 5m', 'needs a number'],
    ['connected ordered', '[CONNECTED] > 0', 'true or false'],
    ['has() compared with a word', 'has([BODY].x) == yes', 'true or false'],
    ['len() of a literal', 'len(items) > 0', 'len() takes a placeholder'],
    ['an empty right side', '[STATUS] ==', 'empty'],
    ['any() with an empty value', '[STATUS] == any(200,,201)', 'separated by commas'],
    ['a body ordered against a word', '[BODY].count > many', 'needs a number'],
  ])('rejects %s', (_name, text, reason) => {
    const result = parseCondition(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toContain(reason)
  })

  it.each<[string, string, object]>([
    [
      'a JSON path is split into keys and indexes',
      '[BODY].data.items[0].name == x',
      { left: { kind: 'placeholder', placeholder: '[BODY]', path: ['data', 'items', 0, 'name'] } },
    ],
    [
      'spaces around the operator are optional',
      '[STATUS]==200',
      { operator: '==', right: { kind: 'literal', value: '200' } },
    ],
    [
      'quotes are removed from literals',
      "[BODY] == 'a b'",
      { right: { kind: 'literal', value: 'a b' } },
    ],
    [
      'an operator inside quotes is part of the value',
      '[BODY] == "a<b"',
      { right: { kind: 'literal', value: 'a<b' } },
    ],
    [
      'any() lists its values',
      '[STATUS] == any(200, "201")',
      { right: { kind: 'any', values: ['200', '201'] } },
    ],
    ['placeholders are listed once', '[BODY].a == [BODY].b', { placeholders: ['[BODY]'] }],
  ])('%s', (_name, text, expected) => {
    const result = parseCondition(text)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.condition).toMatchObject(expected)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Labels } from './fingerprint.js'
import {
  createMatcher,
  formatMatcher,
  formatMatchers,
  matchersSchema,
  matchesAll,
  parseMatcher,
  parseMatchers,
  type MatchOperator,
  type Matcher,
} from './matchers.js'

function m(name: string, operator: MatchOperator, value: string): Matcher {
  return { name, operator, value }
}

function parsed(text: string): Matcher[] {
  const result = parseMatchers(text)
  if (!result.ok) throw new Error(result.reason)
  return result.matchers
}

describe('parseMatchers', () => {
  // Most cases come from Alertmanager's matcher/parse tests; the fallback ones from its compat
  // layer, which reads input the UTF-8 parser refuses with the classic parser.
  it.each<{ name: string; text: string; matchers: Matcher[] }>([
    { name: 'an empty string is no matchers', text: '', matchers: [] },
    { name: 'empty braces are no matchers', text: '{}', matchers: [] },
    {
      name: 'the example with braces, quotes and a space after the comma',
      text: '{a="1", b!~"x.*"}',
      matchers: [m('a', '=', '1'), m('b', '!~', 'x.*')],
    },
    { name: 'a classic unquoted matcher', text: 'a=1', matchers: [m('a', '=', '1')] },
    {
      name: 'every operator, unquoted, without braces',
      text: 'a=1,b!=2,c=~[a-z]+,d!~[0-9]+',
      matchers: [
        m('a', '=', '1'),
        m('b', '!=', '2'),
        m('c', '=~', '[a-z]+'),
        m('d', '!~', '[0-9]+'),
      ],
    },
    {
      name: 'a trailing comma inside braces',
      text: '{foo=bar,}',
      matchers: [m('foo', '=', 'bar')],
    },
    { name: 'a trailing comma without braces', text: 'foo=bar,', matchers: [m('foo', '=', 'bar')] },
    {
      name: 'spaces and line breaks around tokens',
      text: ' {\n  foo = "bar" ,\n  baz != "qux"\n} ',
      matchers: [m('foo', '=', 'bar'), m('baz', '!=', 'qux')],
    },
    { name: 'an unquoted emoji value', text: '{foo=🙂bar}', matchers: [m('foo', '=', '🙂bar')] },
    {
      name: 'a quoted name with a space (UTF-8 label names)',
      text: '{"service name"="db main"}',
      matchers: [m('service name', '=', 'db main')],
    },
    {
      name: 'an emoji spelled as UTF-8 bytes',
      text: '{"foo"="\\xf0\\x9f\\x99\\x82"}',
      matchers: [m('foo', '=', '🙂')],
    },
    {
      name: 'an emoji spelled as a code point',
      text: '{"foo"="\\U0001f642"}',
      matchers: [m('foo', '=', '🙂')],
    },
    {
      name: 'escaped quotes and backslashes',
      text: '{foo="\\"bar\\" \\\\"}',
      matchers: [m('foo', '=', '"bar" \\')],
    },
    {
      name: 'a comma inside quotes',
      text: 'a="x,y",b="z"',
      matchers: [m('a', '=', 'x,y'), m('b', '=', 'z')],
    },
    {
      name: 'an unquoted value with a space falls back to the classic parser',
      text: 'foo=bar baz',
      matchers: [m('foo', '=', 'bar baz')],
    },
    {
      name: 'a regex with a single backslash falls back to the classic parser',
      text: 'code=~"5\\d\\d"',
      matchers: [m('code', '=~', '5\\d\\d')],
    },
    {
      name: 'a \\t both parsers accept but read differently is read classically (a backslash and t)',
      text: 'foo="a\\tb"',
      matchers: [m('foo', '=', 'a\\tb')],
    },
    {
      name: 'a classic quoted value with an escaped quote and a comma',
      text: '{quote="She said: \\"Hi, all!\\""}',
      matchers: [m('quote', '=', 'She said: "Hi, all!"')],
    },
    { name: 'an empty quoted value', text: 'team=""', matchers: [m('team', '=', '')] },
    {
      name: 'a missing closing brace is tolerated, as the classic parser only trims braces',
      text: '{foo="bar"',
      matchers: [m('foo', '=', 'bar')],
    },
    {
      name: 'a missing value is tolerated as empty, as the classic parser reads it',
      text: '{a=}',
      matchers: [m('a', '=', '')],
    },
  ])('$name', ({ text, matchers }) => {
    expect(parseMatchers(text)).toEqual({ ok: true, matchers })
  })

  it.each<{ name: string; text: string; column: number; says: string }>([
    { name: 'a lone comma', text: ',', column: 1, says: 'expected a label name' },
    {
      name: 'a comma right after the brace',
      text: '{,}',
      column: 2,
      says: 'expected a label name',
    },
    { name: 'two commas in a row', text: 'a=1,,b=2', column: 5, says: 'expected a label name' },
    {
      name: 'a quoted value after garbage',
      text: '{foo=:"bar"}',
      column: 7,
      says: 'expected a "," or "}" after a matcher',
    },
    {
      name: 'an invalid escape in quotes',
      text: '{foo="bar\\w"} ',
      column: 6,
      says: 'the quoted value "bar\\w" is invalid: \\w is not an escape',
    },
    {
      name: 'escaped bytes that are not UTF-8',
      text: '{"foo"="\\xf0\\x9f"}',
      column: 8,
      says: 'not valid UTF-8',
    },
    { name: 'a "!" without "=" or "~"', text: 'a!b', column: 2, says: 'must be followed by' },
    {
      name: 'an unclosed quote',
      text: 'a="open',
      column: 3,
      says: 'a quoted string has no closing "',
    },
    {
      name: 'an invalid regex, reported at its value',
      text: 'job=~"(api"',
      column: 6,
      says: 'is not a valid regular expression',
    },
    {
      name: 'a lookahead, which RE2 does not have',
      text: 'job=~"(?=api)"',
      column: 6,
      says: 'lookaround',
    },
    { name: 'an operator without a name', text: '="x"', column: 1, says: 'expected a label name' },
    { name: 'a name without an operator', text: 'team', column: 5, says: 'expected an operator' },
  ])('rejects $name, naming the column and the fix', ({ text, column, says }) => {
    const result = parseMatchers(text)
    expect(result).toMatchObject({ ok: false, column })
    const reason = result.ok ? '' : result.reason
    expect(reason).toContain(`at column ${column}`)
    expect(reason).toContain(says)
    expect(reason).toMatch(/; (write|fix)|: .*(write|escape|RE2)/)
  })
})

describe('parseMatcher', () => {
  it.each<{ name: string; text: string; matcher: Matcher }>([
    {
      name: 'the regex example',
      text: 'severity=~"crit|warn"',
      matcher: m('severity', '=~', 'crit|warn'),
    },
    { name: 'a classic bare matcher', text: 'team=dba', matcher: m('team', '=', 'dba') },
    { name: 'a quoted name', text: '"a.b"!="c"', matcher: m('a.b', '!=', 'c') },
    {
      name: 'two matchers without quotes, which the classic parser reads as one value',
      text: 'a=1,b=2',
      matcher: m('a', '=', '1,b=2'),
    },
  ])('reads $name', ({ text, matcher }) => {
    expect(parseMatcher(text)).toEqual({ ok: true, matcher })
  })

  it.each([
    { name: 'braces', text: '{a="1"}', says: 'takes no braces' },
    { name: 'nothing', text: '', says: 'holds 0 matchers, expected exactly one' },
    { name: 'two quoted matchers', text: 'a="1",b="2"', says: 'holds 2 matchers' },
  ])('rejects $name', ({ text, says }) => {
    const result = parseMatcher(text)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.reason).toContain(says)
  })
})

describe('matchesAll', () => {
  it.each<{ name: string; matchers: string; labels: Labels; matches: boolean }>([
    { name: 'no matchers match anything', matchers: '{}', labels: { a: '1' }, matches: true },
    { name: 'equality matches', matchers: 'team="db"', labels: { team: 'db' }, matches: true },
    {
      name: 'a regex is anchored at the start',
      matchers: 'service=~"db"',
      labels: { service: 'main-db' },
      matches: false,
    },
    {
      name: 'a regex is anchored at the end',
      matchers: 'service=~"db"',
      labels: { service: 'db-replica' },
      matches: false,
    },
    {
      name: 'an alternation is anchored as a whole',
      matchers: 'severity=~"crit|warn"',
      labels: { severity: 'warning' },
      matches: false,
    },
    {
      name: 'an alternation matches either side whole',
      matchers: 'severity=~"crit|warn"',
      labels: { severity: 'warn' },
      matches: true,
    },
    {
      name: 'a negative regex is anchored too',
      matchers: 'service!~"db"',
      labels: { service: 'db-replica' },
      matches: true,
    },
    {
      name: 'an empty value matches an alert without the label',
      matchers: 'team=""',
      labels: { service: 'db' },
      matches: true,
    },
    {
      name: 'an empty value does not match an alert with the label',
      matchers: 'team=""',
      labels: { team: 'dba' },
      matches: false,
    },
    {
      name: '!="" requires the label',
      matchers: 'team!=""',
      labels: { service: 'db' },
      matches: false,
    },
    {
      name: '!= matches an alert without the label',
      matchers: 'team!="dba"',
      labels: {},
      matches: true,
    },
    {
      name: '=~".*" matches a missing label',
      matchers: 'team=~".*"',
      labels: {},
      matches: true,
    },
    {
      name: '=~".+" requires the label',
      matchers: 'team=~".+"',
      labels: {},
      matches: false,
    },
    {
      name: 'an empty label value counts as missing',
      matchers: 'team=~".+"',
      labels: { team: '' },
      matches: false,
    },
    {
      name: 'a label named like an Object property is missing unless the alert has it',
      matchers: '{constructor="", toString=~""}',
      labels: { team: 'db' },
      matches: true,
    },
    {
      name: 'every matcher must match',
      matchers: '{team="dba", severity="critical"}',
      labels: { team: 'dba', severity: 'warning' },
      matches: false,
    },
    {
      name: 'a leading (?i) makes the regex case-insensitive',
      matchers: 'service=~"(?i)DB-.*"',
      labels: { service: 'db-main' },
      matches: true,
    },
    {
      name: '"." does not match a line break, as in Go',
      matchers: 'summary=~".*"',
      labels: { summary: 'line one\nline two' },
      matches: false,
    },
    {
      name: '"." matches a carriage return, as in Go',
      matchers: 'summary=~"a.b"',
      labels: { summary: 'a\rb' },
      matches: true,
    },
    {
      name: '"." matches one emoji, as Go matches runes',
      matchers: 'icon=~"."',
      labels: { icon: '🚨' },
      matches: true,
    },
    {
      name: 'a POSIX class',
      matchers: 'host=~"[[:alpha:]]+[[:digit:]]"',
      labels: { host: 'web1' },
      matches: true,
    },
    {
      name: 'an escaped hyphen, which Go allows outside a class',
      matchers: 'host=~"web\\\\-1"',
      labels: { host: 'web-1' },
      matches: true,
    },
    {
      name: 'a brace that starts no repetition is a literal',
      matchers: 'path=~"/v1/{id}"',
      labels: { path: '/v1/{id}' },
      matches: true,
    },
    {
      name: 'a quantifier in braces still repeats',
      matchers: 'code=~"5[0-9]{2}"',
      labels: { code: '503' },
      matches: true,
    },
    {
      name: '\\s is ASCII only, as in RE2',
      matchers: 'text=~"a\\\\sb"',
      labels: { text: 'a\u00a0b' },
      matches: false,
    },
    {
      name: 'a Go named group',
      matchers: 'job=~"(?P<kind>api|web)-[0-9]+"',
      labels: { job: 'api-12' },
      matches: true,
    },
    {
      name: 'a Unicode class in Go spelling',
      matchers: 'city=~"\\\\pL+"',
      labels: { city: 'Zürich' },
      matches: true,
    },
    {
      name: 'a script in Go spelling',
      matchers: 'word=~"\\\\p{Greek}+"',
      labels: { word: 'Σίσυφος' },
      matches: true,
    },
  ])('$name', ({ matchers, labels, matches }) => {
    expect(matchesAll(parsed(matchers), labels)).toBe(matches)
  })

  it('compiles a regex once, when the matcher is made', () => {
    const created = createMatcher('a', '=~', 'x+')
    expect(created.ok).toBe(true)
    const matcher = created.ok ? created.matcher : m('a', '=', '')
    expect(Object.isFrozen(matcher)).toBe(true)
    expect(matchesAll([matcher], { a: 'xxx' })).toBe(true)
  })

  it('compiles a hand-written matcher on first use', () => {
    expect(matchesAll([m('a', '!~', 'x+')], { a: 'y' })).toBe(true)
  })
})

describe('formatMatcher', () => {
  it.each<{ name: string; matcher: Matcher; text: string }>([
    {
      name: 'a plain matcher',
      matcher: m('severity', '=~', 'crit|warn'),
      text: 'severity=~"crit|warn"',
    },
    {
      name: 'a value with a quote, a backslash and a line break',
      matcher: m('a', '=', 'say "hi"\\\n'),
      text: 'a="say \\"hi\\"\\\\\\n"',
    },
    {
      name: 'a name with a space, quoted as Go quotes',
      matcher: m('service name', '!=', 'x\ty'),
      text: '"service name"!="x\\ty"',
    },
    {
      name: 'a UTF-8 name without reserved characters',
      matcher: m('città', '=', 'Zürich'),
      text: 'città="Zürich"',
    },
  ])('prints $name as Alertmanager does', ({ matcher, text }) => {
    expect(formatMatcher(matcher)).toBe(text)
  })

  it('prints a list in braces without spaces', () => {
    expect(formatMatchers([m('a', '=', '1'), m('b', '!~', 'x.*')])).toBe('{a="1",b!~"x.*"}')
  })
})

// Label values are UTF-8 in Alertmanager, so a lone UTF-16 surrogate cannot occur.
const wellFormed = (text: string) => !/\p{Cs}/u.test(text)
const labelName = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).filter(wellFormed)
const labelValue = fc.string({ unit: 'binary', maxLength: 12 }).filter(wellFormed)
const regexValue = fc
  .array(fc.constantFrom('a', 'b', '.*', '.+', '|', '[a-z]+', '\\d', '(x|y)', '-', 'é', '{2}'), {
    maxLength: 6,
  })
  .map((parts) => parts.join(''))
  .filter((pattern) => createMatcher('x', '=~', pattern).ok)
const matcherArbitrary = fc.oneof(
  fc.record({
    name: labelName,
    operator: fc.constantFrom<MatchOperator>('=', '!='),
    value: labelValue,
  }),
  fc.record({
    name: labelName,
    operator: fc.constantFrom<MatchOperator>('=~', '!~'),
    value: regexValue,
  }),
)

describe('matcher properties', () => {
  it('a matcher parsed from its formatted form round-trips', () => {
    fc.assert(
      fc.property(matcherArbitrary, (matcher) => {
        expect(parseMatcher(formatMatcher(matcher))).toEqual({ ok: true, matcher })
      }),
    )
  })

  it('a list parsed from its formatted form round-trips', () => {
    fc.assert(
      fc.property(fc.array(matcherArbitrary, { maxLength: 4 }), (matchers) => {
        expect(parseMatchers(formatMatchers(matchers))).toEqual({ ok: true, matchers })
      }),
    )
  })

  it('=~".*" matches every label set whose values are single lines', () => {
    const [anything] = parsed('x=~".*"')
    fc.assert(
      fc.property(
        fc.dictionary(
          labelName,
          labelValue.filter((v) => !v.includes('\n')),
        ),
        fc.oneof(labelName, fc.constant('x')),
        (labels, name) => {
          expect(matchesAll([{ ...(anything as Matcher), name }], labels)).toBe(true)
        },
      ),
    )
  })

  it('a = matcher and a != matcher with the same value never agree', () => {
    fc.assert(
      fc.property(
        labelName,
        labelValue,
        fc.dictionary(labelName, labelValue),
        (name, value, labels) => {
          expect(matchesAll([m(name, '=', value)], labels)).toBe(
            !matchesAll([m(name, '!=', value)], labels),
          )
        },
      ),
    )
  })
})

describe('matchersSchema', () => {
  it('flattens a list of matcher strings as Alertmanager reads `matchers:`', () => {
    expect(matchersSchema.parse(['team="db"', 'severity=~"crit|warn", env!="dev"'])).toEqual([
      m('team', '=', 'db'),
      m('severity', '=~', 'crit|warn'),
      m('env', '!=', 'dev'),
    ])
  })

  it('reports a bad entry at its index', () => {
    const result = matchersSchema.safeParse(['team="db"', 'job=~"(api"'])
    expect(result.success).toBe(false)
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: [1], message: expect.stringContaining('job=~') }),
    ])
  })
})

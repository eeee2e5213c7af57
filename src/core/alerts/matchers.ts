import { z } from 'zod'
import { compileGoRegexp } from './compile-go-regexp.js'
import type { Labels } from './fingerprint.js'
import { goQuote, goUnquote } from './go-quote.js'

/** How a matcher compares a label: equal, not equal, regex match, regex non-match. */
export type MatchOperator = '=' | '!=' | '=~' | '!~'

/**
 * One label matcher as Alertmanager has them. Plain data: regexes are compiled once, when the
 * matcher is parsed or created, and kept aside so matchers stay comparable and serialisable.
 */
export interface Matcher {
  readonly name: string
  readonly operator: MatchOperator
  readonly value: string
}

/** A matcher that could be built, or why it could not. */
export type CreateMatcherResult = { ok: true; matcher: Matcher } | { ok: false; reason: string }

/** One parsed matcher, or why the text is not one and the 1-based column where it went wrong. */
export type ParseMatcherResult =
  { ok: true; matcher: Matcher } | { ok: false; reason: string; column: number }

/** Parsed matchers, or why the text is not a matcher list and the column where it went wrong. */
export type ParseMatchersResult =
  { ok: true; matchers: Matcher[] } | { ok: false; reason: string; column: number }

const compiled = new WeakMap<Matcher, RegExp>()
const matcherFix =
  'write matchers as name="value", name!="value", name=~"regex" or name!~"regex", separated by commas'

/**
 * Builds a matcher from its parts, compiling a regex value as Alertmanager does: in RE2
 * syntax, anchored at both ends (`^(?:value)$`), so `=~"db"` does not match `db-replica`.
 */
export function createMatcher(
  name: string,
  operator: MatchOperator,
  value: string,
): CreateMatcherResult {
  if (name === '') return { ok: false, reason: 'the label name is empty; name a label' }
  const matcher: Matcher = Object.freeze({ name, operator, value })
  if (operator === '=~' || operator === '!~') {
    const result = compileGoRegexp(value)
    if (!result.ok) {
      return {
        ok: false,
        reason: `${JSON.stringify(value)} is not a valid regular expression (${result.reason}); fix it in RE2 syntax`,
      }
    }
    compiled.set(matcher, result.regexp)
  }
  return { ok: true, matcher }
}

function regexOf(matcher: Matcher): RegExp {
  const known = compiled.get(matcher)
  if (known) return known
  const result = compileGoRegexp(matcher.value)
  if (!result.ok) {
    throw new Error(
      `matcher ${formatMatcher(matcher)} has an invalid regex (${result.reason}); build matchers with createMatcher or parseMatchers`,
    )
  }
  compiled.set(matcher, result.regexp)
  return result.regexp
}

/**
 * The value of a label, or "" when the alert lacks it, as Alertmanager reads a missing label;
 * inherited properties (`constructor`, `__proto__`) are not labels.
 */
export function labelValue(labels: Labels, name: string): string {
  return Object.hasOwn(labels, name) ? (labels[name] as string) : ''
}

/** Whether one matcher accepts a label value; a missing label is the empty string. */
export function matchesValue(matcher: Matcher, value: string | undefined): boolean {
  const actual = value ?? ''
  switch (matcher.operator) {
    case '=':
      return actual === matcher.value
    case '!=':
      return actual !== matcher.value
    case '=~':
      return regexOf(matcher).test(actual)
    case '!~':
      return !regexOf(matcher).test(actual)
  }
}

/**
 * Whether every matcher accepts the labels. A label the alert lacks reads as "" (so `team=""`
 * matches alerts without `team`, and `team!~".+"` too), and no matchers accept everything.
 */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((matcher) => matchesValue(matcher, labelValue(labels, matcher.name)))
}

// The UTF-8 matcher grammar of Alertmanager ≥ 0.27 (matcher/parse): these characters end an
// unquoted name or value; whitespace is Unicode White_Space, as Go's unicode.IsSpace.
const whitespace = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/
const reservedChars = new Set(['{', '}', '!', '=', '~', ',', '\\', '"', "'", '`'])

function isReserved(char: string): boolean {
  return reservedChars.has(char) || whitespace.test(char)
}

/** OpenMetrics escaping: only `\`, newline and `"`, as Alertmanager prints values. */
function openMetricsEscape(text: string): string {
  return text.replace(/[\\\n"]/g, (char) => (char === '\n' ? '\\n' : `\\${char}`))
}

/**
 * The matcher as Alertmanager prints it (`severity=~"crit|warn"`, or `"service name"="db"` for
 * a name Alertmanager's grammar cannot leave bare); `parseMatcher` reads it back unchanged.
 */
export function formatMatcher(matcher: Matcher): string {
  if ([...matcher.name].some(isReserved)) {
    return `${goQuote(matcher.name)}${matcher.operator}${goQuote(matcher.value)}`
  }
  return `${matcher.name}${matcher.operator}"${openMetricsEscape(matcher.value)}"`
}

/** Matchers as Alertmanager prints a list: `{a="1",b!~"x.*"}`. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map(formatMatcher).join(',')}}`
}

type TokenKind = 'open' | 'close' | 'comma' | 'operator' | 'quoted' | 'unquoted' | 'error'

interface Token {
  kind: TokenKind
  text: string
  /** 1-based column (in characters) of the token's first character. */
  column: number
}

function lex(input: string): Token[] {
  const chars = [...input]
  const tokens: Token[] = []
  let i = 0
  while (i < chars.length) {
    const char = chars[i] as string
    const column = i + 1
    if (whitespace.test(char)) {
      i += 1
    } else if (char === '{' || char === '}' || char === ',') {
      tokens.push({
        kind: char === '{' ? 'open' : char === '}' ? 'close' : 'comma',
        text: char,
        column,
      })
      i += 1
    } else if (char === '=') {
      const operator = chars[i + 1] === '~' ? '=~' : '='
      tokens.push({ kind: 'operator', text: operator, column })
      i += operator.length
    } else if (char === '!') {
      const next = chars[i + 1]
      if (next !== '=' && next !== '~') {
        tokens.push({ kind: 'error', text: 'a "!" must be followed by "=" or "~"', column })
        return tokens
      }
      tokens.push({ kind: 'operator', text: `!${next}`, column })
      i += 2
    } else if (char === '"') {
      let end = i + 1
      while (end < chars.length && chars[end] !== '"') end += chars[end] === '\\' ? 2 : 1
      if (end >= chars.length) {
        tokens.push({ kind: 'error', text: 'a quoted string has no closing "', column })
        return tokens
      }
      tokens.push({ kind: 'quoted', text: chars.slice(i, end + 1).join(''), column })
      i = end + 1
    } else if (!isReserved(char)) {
      let end = i
      while (end < chars.length && !isReserved(chars[end] as string)) end += 1
      tokens.push({ kind: 'unquoted', text: chars.slice(i, end).join(''), column })
      i = end
    } else {
      tokens.push({ kind: 'error', text: `${JSON.stringify(char)} must be inside quotes`, column })
      return tokens
    }
  }
  return tokens
}

function describeToken(token: Token | undefined): string {
  return token === undefined ? 'the end' : JSON.stringify(token.text)
}

function parseUtf8(input: string): ParseMatchersResult {
  const tokens = lex(input)
  const endColumn = [...input].length + 1
  let at = 0
  const fail = (token: Token | undefined, expected: string) => ({
    ok: false as const,
    column: token?.column ?? endColumn,
    reason:
      token?.kind === 'error'
        ? `${JSON.stringify(input)} at column ${token.column}: ${token.text}; ${matcherFix}`
        : `${JSON.stringify(input)} at column ${token?.column ?? endColumn}: unexpected ${describeToken(token)}, expected ${expected}; ${matcherFix}`,
  })
  const text = (token: Token) => {
    if (token.kind === 'unquoted') return { ok: true as const, value: token.text }
    return goUnquote(token.text)
  }
  const badQuote = (token: Token, what: string, why: string) => ({
    ok: false as const,
    column: token.column,
    reason: `${JSON.stringify(input)} at column ${token.column}: the quoted ${what} ${token.text} is invalid: ${why}`,
  })
  const matchers: Matcher[] = []
  const hasOpen = tokens[0]?.kind === 'open'
  if (hasOpen) at += 1
  for (;;) {
    const token = tokens[at]
    if (token === undefined) {
      if (hasOpen) return fail(token, 'a closing "}"')
      break
    }
    if (token.kind === 'close') {
      if (!hasOpen) return fail(token, 'a matching "{" at the start')
      const after = tokens[at + 1]
      if (after !== undefined) return fail(after, 'the end after "}"')
      break
    }
    const name = token
    if (name.kind !== 'quoted' && name.kind !== 'unquoted') return fail(name, 'a label name')
    const operator = tokens[at + 1]
    if (operator?.kind !== 'operator') {
      return fail(operator, 'an operator "=", "!=", "=~" or "!~"')
    }
    const value = tokens[at + 2]
    if (value?.kind !== 'quoted' && value?.kind !== 'unquoted') {
      return fail(value, 'a label value')
    }
    const nameText = text(name)
    if (!nameText.ok) return badQuote(name, 'name', nameText.reason)
    const valueText = text(value)
    if (!valueText.ok) return badQuote(value, 'value', valueText.reason)
    const created = createMatcher(nameText.value, operator.text as MatchOperator, valueText.value)
    if (!created.ok) {
      return {
        ok: false,
        column: value.column,
        reason: `${JSON.stringify(input)} at column ${value.column}: ${created.reason}`,
      }
    }
    matchers.push(created.matcher)
    at += 3
    const next = tokens[at]
    if (next?.kind === 'comma') at += 1
    else if (next !== undefined && next.kind !== 'close') {
      return fail(next, 'a "," or "}" after a matcher')
    }
  }
  return { ok: true, matchers }
}

// Go's \s, which the classic parser trims with.
const classicPattern =
  /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/

/** Alertmanager's classic `labels.ParseMatcher`: bare names, lenient unquoted values. */
function parseClassicMatcher(text: string): CreateMatcherResult {
  const match = classicPattern.exec(text)
  if (!match) return { ok: false, reason: `bad matcher format: ${text}` }
  let raw = match[3] as string
  let expectTrailingQuote = false
  if (raw.startsWith('"')) {
    raw = raw.slice(1)
    expectTrailingQuote = true
  }
  let value = ''
  let escaped = false
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i] as string
    if (escaped) {
      escaped = false
      // A backslash before anything but n, " or \ is kept as a literal backslash.
      value += char === 'n' ? '\n' : char === '"' || char === '\\' ? char : `\\${char}`
    } else if (char === '\\') {
      if (i < raw.length - 1) escaped = true
      else value += '\\'
    } else if (char === '"') {
      if (!expectTrailingQuote || i < raw.length - 1) {
        return { ok: false, reason: `matcher value contains unescaped double quote: ${match[3]}` }
      }
      expectTrailingQuote = false
    } else {
      value += char
    }
  }
  if (expectTrailingQuote) {
    return { ok: false, reason: `matcher value contains unescaped double quote: ${match[3]}` }
  }
  return createMatcher(match[1] as string, match[2] as MatchOperator, value)
}

/** Alertmanager's classic `labels.ParseMatchers`: optional braces, commas outside quotes. */
function parseClassicMatchers(input: string): { ok: true; matchers: Matcher[] } | { ok: false } {
  const body = input.replace(/^\{/, '').replace(/\}$/, '')
  const parts: string[] = []
  let part = ''
  let insideQuotes = false
  let escaped = false
  for (const char of body) {
    if (char === ',' && !insideQuotes) {
      parts.push(part)
      part = ''
      continue
    }
    if (char === '"') {
      if (!escaped) insideQuotes = !insideQuotes
      else escaped = false
    } else if (char === '\\') escaped = !escaped
    else escaped = false
    part += char
  }
  if (part.trim() !== '') parts.push(part.trim())
  const matchers: Matcher[] = []
  for (const text of parts) {
    const result = parseClassicMatcher(text)
    if (!result.ok) return { ok: false }
    matchers.push(result.matcher)
  }
  return { ok: true, matchers }
}

function sameMatchers(a: readonly Matcher[], b: readonly Matcher[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (m, i) => m.name === b[i]?.name && m.operator === b[i]?.operator && m.value === b[i]?.value,
    )
  )
}

/**
 * Parses a list of matchers the way Alertmanager's default (fallback) mode does:
 * `{a="1", b!~"x.*"}`, `a=1,b=~x.*` or `"service name"="db"`, braces optional, a trailing
 * comma allowed. Input only the classic parser accepts (`a=b c`, `a=~"\d+"`) is read
 * classically, and where both parsers accept it but disagree the classic reading wins.
 */
export function parseMatchers(text: string): ParseMatchersResult {
  const utf8 = parseUtf8(text)
  const classic = parseClassicMatchers(text)
  if (!utf8.ok) return classic.ok ? classic : utf8
  if (classic.ok && !sameMatchers(utf8.matchers, classic.matchers)) return classic
  return utf8
}

/** Parses exactly one matcher, such as `severity=~"crit|warn"` or `team=dba`, without braces. */
export function parseMatcher(text: string): ParseMatcherResult {
  if (text.startsWith('{') || text.endsWith('}')) {
    const column = text.startsWith('{') ? 1 : [...text].length
    return {
      ok: false,
      column,
      reason: `${JSON.stringify(text)} at column ${column}: a single matcher takes no braces; remove them, or parse a list with parseMatchers`,
    }
  }
  const utf8 = parseUtf8(text)
  const classic = parseClassicMatcher(text)
  if (utf8.ok && utf8.matchers.length !== 1) {
    if (classic.ok) return classic
    return {
      ok: false,
      column: 1,
      reason: `${JSON.stringify(text)} holds ${utf8.matchers.length} matchers, expected exactly one; ${matcherFix}`,
    }
  }
  if (!utf8.ok) return classic.ok ? classic : utf8
  const [matcher] = utf8.matchers as [Matcher]
  if (classic.ok && !sameMatchers([matcher], [classic.matcher])) return classic
  return { ok: true, matcher }
}

/**
 * A config field holding matchers: one Alertmanager matcher string or a list of them (each of
 * which may hold several), as Alertmanager's `matchers:`; it parses them into `Matcher`s.
 */
export const matchersSchema = z
  .union([z.string(), z.array(z.string())])
  .transform((value, ctx): Matcher[] => {
    const lines = typeof value === 'string' ? [value] : value
    const matchers: Matcher[] = []
    lines.forEach((line, index) => {
      const parsed = parseMatchers(line)
      if (parsed.ok) matchers.push(...parsed.matchers)
      else {
        ctx.addIssue({
          code: 'custom',
          message: parsed.reason,
          path: typeof value === 'string' ? [] : [index],
        })
      }
    })
    return matchers
  })

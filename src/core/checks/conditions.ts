import { formatDuration, parseDuration } from '../time.js'

/** A value a probe observed, named as Gatus names it in a condition. */
export type Placeholder =
  | '[STATUS]'
  | '[RESPONSE_TIME]'
  | '[BODY]'
  | '[CERTIFICATE_EXPIRATION]'
  | '[CONNECTED]'
  | '[IP]'
  | '[DNS_RCODE]'
  | '[RESULT]'
  | '[EXIT_CODE]'

/** Every placeholder a condition may use, in the order error messages list them. */
export const conditionPlaceholders: readonly Placeholder[] = [
  '[STATUS]',
  '[RESPONSE_TIME]',
  '[BODY]',
  '[CERTIFICATE_EXPIRATION]',
  '[CONNECTED]',
  '[IP]',
  '[DNS_RCODE]',
  '[RESULT]',
  '[EXIT_CODE]',
]

/** What one probe run observed; a field left undefined makes its placeholder unavailable. */
export interface ConditionContext {
  /** HTTP status code. */
  status?: number
  responseTimeMs?: number
  /** The raw body (or a probe's textual answer); `[BODY].a.b` parses it as JSON. */
  body?: string
  /** Milliseconds until the peer certificate expires; negative once it has. */
  certificateExpirationMs?: number
  connected?: boolean
  ip?: string
  /** DNS response code by name (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, …). */
  dnsRcode?: string
  /** A probe's one-line result, such as a Nagios plugin's status text. */
  result?: string
  exitCode?: number
}

/** The comparison operators a condition may use. */
export type ConditionOperator = '==' | '!=' | '<' | '<=' | '>' | '>='

/** A placeholder, optionally with a JSON path into the body and wrapped in `len()` or `has()`. */
export interface PlaceholderOperand {
  kind: 'placeholder'
  placeholder: Placeholder
  path: readonly (string | number)[]
  fn?: 'len' | 'has'
  text: string
}

/** One side of a condition. `pattern` and `any` appear only on the right. */
export type ConditionOperand =
  | PlaceholderOperand
  | { kind: 'literal'; value: string; text: string }
  | { kind: 'pattern'; glob: string; text: string }
  | { kind: 'any'; values: readonly string[]; text: string }

/** A parsed condition such as `[STATUS] == 200` or `len([BODY].items) > 0`. */
export interface Condition {
  text: string
  left: ConditionOperand
  operator: ConditionOperator
  right: ConditionOperand
  /** The placeholders the condition reads, so a probe can tell which observations it needs. */
  placeholders: readonly Placeholder[]
}

/** The result of parsing a condition; a bad condition is a value that says what to fix. */
export type ParseConditionResult =
  { ok: true; condition: Condition } | { ok: false; reason: string }

/** The result of evaluating a list of conditions: each failure reads like `[STATUS] (503) == 200`. */
export interface ConditionsVerdict {
  ok: boolean
  failures: string[]
}

const numericPlaceholders = new Set<Placeholder>([
  '[STATUS]',
  '[RESPONSE_TIME]',
  '[CERTIFICATE_EXPIRATION]',
  '[EXIT_CODE]',
])
const timePlaceholders = new Set<Placeholder>(['[RESPONSE_TIME]', '[CERTIFICATE_EXPIRATION]'])
const operators: readonly ConditionOperator[] = ['==', '!=', '<=', '>=', '<', '>']
const numberPattern = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
const placeholderList = conditionPlaceholders.join(', ')

interface Split {
  left: string
  operator: ConditionOperator
  right: string
}

function findOperator(text: string): Split | { error: string } {
  let quote: string | undefined
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (quote) {
      if (char === quote) quote = undefined
      continue
    }
    if (char === '"' || char === "'") quote = char
    else if (char === '(' || char === '[') depth++
    else if (char === ')' || char === ']') depth--
    else if (depth === 0 && '=!<>'.includes(char)) {
      const operator = operators.find((op) => text.startsWith(op, i))
      if (!operator) {
        return {
          error: `"${char}" at position ${i + 1} is not an operator; use ==, !=, <, <=, > or >=`,
        }
      }
      return {
        left: text.slice(0, i).trim(),
        operator,
        right: text.slice(i + operator.length).trim(),
      }
    }
  }
  return { error: 'it has no operator; write it like [STATUS] == 200' }
}

function unquote(text: string): string {
  const first = text[0]
  if (text.length >= 2 && (first === '"' || first === "'") && text.endsWith(first)) {
    return text.slice(1, -1)
  }
  return text
}

function splitArguments(text: string): string[] {
  const parts: string[] = []
  let quote: string | undefined
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (quote) {
      if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") quote = char
    else if (char === ',') {
      parts.push(text.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(text.slice(start).trim())
  return parts
}

function parsePath(rest: string): (string | number)[] | string {
  const path: (string | number)[] = []
  const segment = /^(?:\.([^.[\]\s]+)|\[(\d+)\])/
  let remaining = rest
  while (remaining.length > 0) {
    const match = segment.exec(remaining)
    if (!match) {
      return `the JSON path "${rest}" is invalid at "${remaining}"; write it like [BODY].items[0].name`
    }
    path.push(match[1] !== undefined ? match[1] : Number(match[2]))
    remaining = remaining.slice(match[0].length)
  }
  return path
}

function parsePlaceholder(text: string): PlaceholderOperand | string {
  const match = /^\[([A-Z_]+)\]/.exec(text)
  if (!match) return `"${text}" is not a placeholder; use one of ${placeholderList}`
  const placeholder = match[0] as Placeholder
  if (!conditionPlaceholders.includes(placeholder)) {
    return `unknown placeholder ${match[0]}; use one of ${placeholderList}`
  }
  const rest = text.slice(match[0].length)
  if (rest.length > 0 && placeholder !== '[BODY]') {
    return `only [BODY] takes a JSON path, but ${placeholder} is followed by "${rest}"`
  }
  const path = parsePath(rest)
  if (typeof path === 'string') return path
  return { kind: 'placeholder', placeholder, path, text }
}

function parseOperand(text: string): ConditionOperand | string {
  if (text === '') return 'one side of the operator is empty'
  const call = /^([a-zA-Z_]+)\s*\((.*)\)$/s.exec(text)
  if (call) {
    const name = (call[1] as string).toLowerCase()
    const inner = (call[2] as string).trim()
    if (name === 'len' || name === 'has') {
      const operand = parsePlaceholder(inner)
      if (typeof operand === 'string') return `${name}() takes a placeholder: ${operand}`
      return { ...operand, fn: name, text }
    }
    if (name === 'pat') return { kind: 'pattern', glob: unquote(inner), text }
    if (name === 'any') {
      const values = splitArguments(inner).map(unquote)
      if (values.some((value) => value === '')) return 'any() needs values separated by commas'
      return { kind: 'any', values, text }
    }
    return `unknown function ${call[1]}(); use len(), has(), pat() or any()`
  }
  if (text.startsWith('[')) return parsePlaceholder(text)
  return { kind: 'literal', value: unquote(text), text }
}

function isNumeric(operand: PlaceholderOperand): boolean {
  return operand.fn === 'len' || (!operand.fn && numericPlaceholders.has(operand.placeholder))
}

function literalNumber(value: string, allowDuration: boolean): number | undefined {
  if (numberPattern.test(value)) return Number(value)
  return allowDuration ? parseDuration(value) : undefined
}

function allowsDuration(operand: PlaceholderOperand): boolean {
  return !operand.fn && timePlaceholders.has(operand.placeholder)
}

function checkTypes(
  placeholder: PlaceholderOperand,
  operator: ConditionOperator,
  other: ConditionOperand,
): string | undefined {
  const ordering = operator !== '==' && operator !== '!='
  const boolean =
    placeholder.fn === 'has' || (!placeholder.fn && placeholder.placeholder === '[CONNECTED]')
  const name = placeholder.text
  if (boolean) {
    if (ordering) return `${name} is true or false, so compare it with == or !=`
    if (other.kind === 'literal' && other.value !== 'true' && other.value !== 'false') {
      return `${name} is true or false, not "${other.value}"`
    }
    return undefined
  }
  const values = other.kind === 'literal' ? [other.value] : other.kind === 'any' ? other.values : []
  const numeric = isNumeric(placeholder)
  for (const value of values) {
    if ((numeric || ordering) && literalNumber(value, allowsDuration(placeholder)) === undefined) {
      const expected = allowsDuration(placeholder)
        ? 'a number (ms) or a duration like 72h'
        : 'a number'
      return `${name} ${operator} needs ${expected}, got "${value}"`
    }
  }
  return undefined
}

const parsedConditions = new Map<string, ParseConditionResult>()

/**
 * Parses one Gatus-style condition (`[STATUS] == 200`, `[BODY].status == pat(*up*)`). Every check
 * evaluates its monitor's conditions, so parses are remembered (results are never mutated).
 */
export function parseCondition(text: string): ParseConditionResult {
  let result = parsedConditions.get(text)
  if (result === undefined) {
    result = parseConditionText(text)
    // Bounded so conditions sent through the API cannot grow the cache without limit.
    if (parsedConditions.size >= 10_000) parsedConditions.clear()
    parsedConditions.set(text, result)
  }
  return result
}

function parseConditionText(text: string): ParseConditionResult {
  const trimmed = text.trim()
  const fail = (reason: string): ParseConditionResult => ({
    ok: false,
    reason: `condition "${trimmed}": ${reason}`,
  })
  if (trimmed === '')
    return { ok: false, reason: 'a condition is empty; write it like [STATUS] == 200' }
  const split = findOperator(trimmed)
  if ('error' in split) return fail(split.error)
  const left = parseOperand(split.left)
  if (typeof left === 'string') return fail(left)
  const right = parseOperand(split.right)
  if (typeof right === 'string') return fail(right)
  if (left.kind === 'pattern' || left.kind === 'any') {
    return fail('pat() and any() belong on the right side of the operator')
  }
  const ordering = split.operator !== '==' && split.operator !== '!='
  if ((right.kind === 'pattern' || right.kind === 'any') && ordering) {
    return fail(`pat() and any() work with == and !=, not ${split.operator}`)
  }
  const placeholders = [left, right].filter(
    (operand): operand is PlaceholderOperand => operand.kind === 'placeholder',
  )
  if (placeholders.length === 0) {
    return fail(`it compares no placeholder; use one of ${placeholderList}`)
  }
  if (left.kind === 'placeholder') {
    const problem = checkTypes(left, split.operator, right)
    if (problem) return fail(problem)
  }
  if (right.kind === 'placeholder' && left.kind === 'literal') {
    const problem = checkTypes(right, split.operator, left)
    if (problem) return fail(problem)
  }
  return {
    ok: true,
    condition: {
      text: trimmed,
      left,
      operator: split.operator,
      right,
      placeholders: [...new Set(placeholders.map((operand) => operand.placeholder))],
    },
  }
}

const missing = Symbol('missing')
type Resolved = unknown

interface BodyCache {
  parsed?: { ok: true; value: unknown } | { ok: false }
}

function parsedBody(body: string, cache: BodyCache): { ok: true; value: unknown } | { ok: false } {
  if (!cache.parsed) {
    try {
      cache.parsed = { ok: true, value: JSON.parse(body) as unknown }
    } catch {
      cache.parsed = { ok: false }
    }
  }
  return cache.parsed
}

function walk(value: unknown, path: readonly (string | number)[]): Resolved {
  let current = value
  for (const key of path) {
    if (typeof key === 'number') {
      if (!Array.isArray(current) || key >= current.length) return missing
      current = current[key] as unknown
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return missing
      if (!Object.prototype.hasOwnProperty.call(current, key)) return missing
      current = (current as Record<string, unknown>)[key]
    }
  }
  return current
}

function observedValue(
  placeholder: Placeholder,
  observed: ConditionContext,
): string | number | boolean | undefined {
  switch (placeholder) {
    case '[STATUS]':
      return observed.status
    case '[RESPONSE_TIME]':
      return observed.responseTimeMs
    case '[BODY]':
      return observed.body
    case '[CERTIFICATE_EXPIRATION]':
      return observed.certificateExpirationMs
    case '[CONNECTED]':
      return observed.connected
    case '[IP]':
      return observed.ip
    case '[DNS_RCODE]':
      return observed.dnsRcode
    case '[RESULT]':
      return observed.result
    case '[EXIT_CODE]':
      return observed.exitCode
  }
}

function resolve(
  operand: PlaceholderOperand,
  observed: ConditionContext,
  cache: BodyCache,
): Resolved {
  const base = observedValue(operand.placeholder, observed)
  let value: Resolved = base === undefined ? missing : base
  if (operand.path.length > 0 && typeof base === 'string') {
    const body = parsedBody(base, cache)
    value = body.ok ? walk(body.value, operand.path) : missing
  } else if (operand.fn === 'len' && typeof base === 'string' && operand.placeholder === '[BODY]') {
    // len([BODY]) counts items when the body is a JSON array or object, characters otherwise.
    const body = parsedBody(base, cache)
    if (body.ok && body.value !== null && typeof body.value === 'object') value = body.value
  }
  if (operand.fn === 'has') return value !== missing
  if (operand.fn === 'len') {
    if (typeof value === 'string' || Array.isArray(value)) return value.length
    if (value !== null && typeof value === 'object') return Object.keys(value).length
    return missing
  }
  return value
}

function asNumber(value: Resolved): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'string' && numberPattern.test(value.trim())) return Number(value)
  return undefined
}

function asText(value: Resolved): string {
  if (typeof value === 'string') return value
  if (value === null || typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

function equals(value: Resolved, literal: string, allowDuration: boolean): boolean {
  if (typeof value === 'boolean' || value === null) return asText(value) === literal
  const number = asNumber(value)
  const other = literalNumber(literal, allowDuration)
  if (number !== undefined && other !== undefined) return number === other
  return asText(value) === literal
}

function globMatches(glob: string, text: string): boolean {
  const source = glob
    .split('')
    .map((char) =>
      char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
    )
    .join('')
  return new RegExp(`^${source}$`, 's').test(text)
}

function order(a: number, operator: ConditionOperator, b: number): boolean {
  switch (operator) {
    case '==':
      return a === b
    case '!=':
      return a !== b
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '>=':
      return a >= b
  }
}

function flip(operator: ConditionOperator): ConditionOperator {
  const flipped: Record<ConditionOperator, ConditionOperator> = {
    '==': '==',
    '!=': '!=',
    '<': '>',
    '<=': '>=',
    '>': '<',
    '>=': '<=',
  }
  return flipped[operator]
}

function compareWithOperand(
  value: Resolved,
  valueOperand: PlaceholderOperand,
  operator: ConditionOperator,
  other: ConditionOperand,
  otherValue: Resolved,
): boolean {
  const allowDuration = allowsDuration(valueOperand)
  const negate = operator === '!='
  switch (other.kind) {
    case 'pattern':
      return globMatches(other.glob, asText(value)) !== negate
    case 'any':
      return other.values.some((option) => equals(value, option, allowDuration)) !== negate
    case 'literal': {
      if (operator === '==' || operator === '!=')
        return equals(value, other.value, allowDuration) !== negate
      const a = asNumber(value)
      const b = literalNumber(other.value, allowDuration)
      return a !== undefined && b !== undefined && order(a, operator, b)
    }
    case 'placeholder': {
      const a = asNumber(value)
      const b = asNumber(otherValue)
      if (a !== undefined && b !== undefined) return order(a, operator, b)
      if (operator === '==' || operator === '!=')
        return (asText(value) === asText(otherValue)) !== negate
      return false
    }
  }
}

function display(operand: PlaceholderOperand, value: Resolved): string {
  if (value === missing) return 'missing'
  if (typeof value === 'number' && !operand.fn) {
    if (operand.placeholder === '[CERTIFICATE_EXPIRATION]') {
      // Whole seconds: the milliseconds of a certificate's remaining life are noise.
      const seconds = Math.round(Math.abs(value) / 1000) * 1000
      return `${value < 0 ? '-' : ''}${formatDuration(seconds)}`
    }
    if (operand.placeholder === '[RESPONSE_TIME]') return `${Math.round(value)}ms`
  }
  const text = asText(value).replace(/\s+/g, ' ')
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function evaluate(
  condition: Condition,
  observed: ConditionContext,
  cache: BodyCache,
): { ok: boolean; message: string } {
  const { left, right, operator } = condition
  const leftValue = left.kind === 'placeholder' ? resolve(left, observed, cache) : undefined
  const rightValue = right.kind === 'placeholder' ? resolve(right, observed, cache) : undefined
  const side = (operand: ConditionOperand, value: Resolved) =>
    operand.kind === 'placeholder' ? `${operand.text} (${display(operand, value)})` : operand.text
  const message = `${side(left, leftValue)} ${operator} ${side(right, rightValue)}`
  if (leftValue === missing || rightValue === missing) return { ok: false, message }
  const ok =
    left.kind === 'placeholder'
      ? compareWithOperand(leftValue, left, operator, right, rightValue)
      : compareWithOperand(rightValue, right as PlaceholderOperand, flip(operator), left, leftValue)
  return { ok, message }
}

/**
 * Evaluates Gatus-style conditions against what a probe observed. A condition that does not
 * parse, or reads a placeholder the probe did not observe, counts as failed.
 */
export function evaluateConditions(
  conditions: readonly string[],
  observed: ConditionContext,
): ConditionsVerdict {
  const failures: string[] = []
  const cache: BodyCache = {}
  for (const text of conditions) {
    const parsed = parseCondition(text)
    if (!parsed.ok) {
      failures.push(parsed.reason)
      continue
    }
    const result = evaluate(parsed.condition, observed, cache)
    if (!result.ok) failures.push(result.message)
  }
  return { ok: failures.length === 0, failures }
}

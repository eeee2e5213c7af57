import type { z } from 'zod'
import { redactUserinfoPassword, type PathSegment } from '../core/config/index.js'

/** One problem found in a config: where it is (file, line, column, path) and how to fix it. */
export interface ConfigIssue {
  file?: string
  /** 1-based line in `file`, when the issue can be tied to a place in the text. */
  line?: number
  /** 1-based column in `file`. */
  column?: number
  /** Where in the config, as `monitors.web-home.interval`; empty for the file as a whole. */
  path: string
  message: string
}

/** Renders issues one per line, as `keel.yaml:12:5: monitors.web-home.interval: message`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => {
      let where = issue.file ?? ''
      if (issue.file !== undefined && issue.line !== undefined) {
        where += `:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`
      }
      const prefix = [where, issue.path].filter((part) => part !== '').join(': ')
      return prefix === '' ? issue.message : `${prefix}: ${issue.message}`
    })
    .join('\n')
}

/** An issue before it is tied to a file: the path as segments, so it can be located in the YAML. */
export interface PathIssue {
  segments: PathSegment[]
  message: string
}

/** What the translation of zod issues needs to know about the input besides the schema. */
export interface DescribeIssuesOptions {
  /** Values at secret paths are never quoted in messages. */
  isSecret: (segments: readonly PathSegment[]) => boolean
  /** Extra advice when a value has the wrong type, such as how it came from a variable. */
  hint?: (segments: readonly PathSegment[]) => string | undefined
}

type Def = {
  type: string
  shape?: Record<string, unknown>
  innerType?: unknown
  in?: unknown
  out?: unknown
  valueType?: unknown
  element?: unknown
  options?: unknown[]
  discriminator?: string
}

function defOf(schema: unknown): Def | undefined {
  const zod = (schema as { _zod?: { def?: Def } } | undefined)?._zod
  return zod?.def
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const wrappers = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'catch',
  'nonoptional',
])

/** Peels wrappers and picks the union member the input selects, down to a schema with a shape. */
function unwrap(schema: unknown, value: unknown): unknown {
  let current = schema
  for (let depth = 0; depth < 20; depth++) {
    const def = defOf(current)
    if (def === undefined) return undefined
    if (wrappers.has(def.type)) current = def.innerType
    else if (def.type === 'pipe') {
      const inner = defOf(def.in)
      current = inner?.type === 'transform' ? def.out : def.in
    } else if (def.type === 'union' && def.options !== undefined) {
      const key = def.discriminator
      const chosen = def.options.find((option) => {
        const shape = defOf(unwrap(option, value))?.shape
        if (shape === undefined) return false
        if (key === undefined || !isRecord(value)) return true
        const values = (option as { _zod: { propValues?: Record<string, Set<unknown>> } })._zod
          .propValues?.[key]
        return values?.has(value[key]) ?? false
      })
      if (chosen === undefined) return undefined
      current = chosen
    } else return current
  }
  return undefined
}

/** The keys an object schema allows at `segments`, following the input through unions. */
export function knownKeysAt(
  schema: unknown,
  segments: readonly PathSegment[],
  input: unknown,
): string[] | undefined {
  let current = schema
  let value = input
  for (const segment of segments) {
    const node = unwrap(current, value)
    const def = defOf(node)
    if (def === undefined) return undefined
    if (def.type === 'object' && typeof segment === 'string') current = def.shape?.[segment]
    else if (def.type === 'record') current = def.valueType
    else if (def.type === 'array') current = def.element
    else return undefined
    value =
      isRecord(value) || Array.isArray(value)
        ? (value as Record<PathSegment, unknown>)[segment]
        : undefined
  }
  const shape = defOf(unwrap(current, value))?.shape
  return shape === undefined ? undefined : Object.keys(shape)
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost)
      diagonal = above
    }
  }
  return row[b.length] as number
}

/** The candidate closest to a misspelt word, if any is close enough to be a likely typo. */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = distance(word, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined
}

function valueAt(input: unknown, segments: readonly PathSegment[]): unknown {
  let value = input
  for (const segment of segments) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined
    value = (value as Record<PathSegment, unknown>)[segment]
  }
  return value
}

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (isRecord(value)) return 'a map'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'number') return 'a number'
  if (typeof value === 'boolean') return 'a boolean'
  return typeof value
}

const expectedNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
}

function quote(value: unknown): string {
  // A URL's password stays out of error messages even in a field that is not secret as a whole.
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return `\`${redactUserinfoPassword(text ?? 'undefined', '<redacted>')}\``
}

function describeOne(
  issue: z.core.$ZodIssue,
  schema: unknown,
  input: unknown,
  options: DescribeIssuesOptions,
): PathIssue[] {
  const segments = issue.path.filter(
    (segment): segment is PathSegment => typeof segment !== 'symbol',
  )
  const value = valueAt(input, segments)
  const got = options.isSecret(segments) ? '' : `, got ${quote(value)}`
  const one = (message: string): PathIssue[] => [{ segments, message }]
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, segments, input) ?? []
      return issue.keys.map((key) => {
        const guess = closestWord(key, known)
        const advice =
          guess !== undefined
            ? `did you mean \`${guess}\`?`
            : known.length > 0
              ? `allowed keys: ${known.join(', ')}`
              : 'remove it'
        return { segments: [...segments, key], message: `unknown key \`${key}\`; ${advice}` }
      })
    }
    case 'invalid_key': {
      const reason = issue.issues.map((inner) => inner.message).join('; ')
      const what = segments.length === 2 ? 'id' : 'key'
      return one(`invalid ${what} ${quote(segments[segments.length - 1])}: ${reason}`)
    }
    case 'invalid_union': {
      if ('discriminator' in issue && typeof issue.discriminator === 'string') {
        const allowed = (('options' in issue ? issue.options : []) as unknown[]).map(String)
        if (value === undefined) {
          return one(`\`${issue.discriminator}\` is required; one of: ${allowed.join(', ')}`)
        }
        const guess = typeof value === 'string' ? closestWord(value, allowed) : undefined
        const advice = guess === undefined ? '' : `did you mean \`${guess}\`? `
        return one(
          `unknown ${issue.discriminator} ${quote(value)}; ${advice}known: ${allowed.join(', ')}`,
        )
      }
      return one(issue.message)
    }
    case 'invalid_type': {
      const expected = expectedNames[issue.expected] ?? issue.expected
      if (value === undefined) {
        const field = segments[segments.length - 1]
        const name = typeof field === 'string' ? `\`${field}\` ` : ''
        return one(`missing required ${name}(${expected})`)
      }
      const hint = options.hint?.(segments)
      return one(
        `expected ${expected}, got ${kindOf(value)}${hint === undefined ? '' : `; ${hint}`}`,
      )
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v))
      const guess = typeof value === 'string' ? closestWord(value, allowed) : undefined
      const advice = guess === undefined ? '' : `; did you mean \`${guess}\`?`
      return one(`must be one of: ${allowed.join(', ')}${got}${advice}`)
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small'
      const bound = small ? issue.minimum : issue.maximum
      const sign = small
        ? issue.inclusive === false
          ? '>'
          : '≥'
        : issue.inclusive === false
          ? '<'
          : '≤'
      if (issue.origin === 'string') {
        return one(`must be ${small ? 'at least' : 'at most'} ${String(bound)} characters long`)
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        return one(`must have ${small ? 'at least' : 'at most'} ${String(bound)} item(s)`)
      }
      return one(`must be ${sign} ${String(bound)}${got}`)
    }
    case 'invalid_format': {
      // Zod's own messages start with "Invalid"; a schema's own message already says the fix.
      if (!issue.message.startsWith('Invalid')) return one(`${issue.message}${got}`)
      return one(`must be a valid ${issue.format}${got}`)
    }
    default:
      return one(issue.message)
  }
}

/**
 * Turns zod's issues into messages that name the field and the fix: unknown keys with a
 * "did you mean", unknown types with the known ones, missing fields as required.
 */
export function describeZodIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: unknown,
  input: unknown,
  options: DescribeIssuesOptions,
): PathIssue[] {
  return issues.flatMap((issue) => describeOne(issue, schema, input, options))
}

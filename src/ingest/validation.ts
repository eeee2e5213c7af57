import { z } from 'zod'
import type { Labels } from '../core/alerts/index.js'
import type { Instant } from '../core/time.js'
import type { FieldIssue } from './format.js'

/** `alerts[0].labels.alertname` from zod's `['alerts', 0, 'labels', 'alertname']`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (typeof segment === 'string' && /^[A-Za-z_][\w]*$/.test(segment))
      out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return out === '' ? 'body' : out
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = Object.hasOwn(value, segment)
      ? (value as Record<PropertyKey, unknown>)[segment]
      : undefined
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  }
  return String(value)
}

const article: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  object: 'a JSON object',
  array: 'an array',
  boolean: 'true or false',
  record: 'a JSON object',
}

type ZodIssue = z.core.$ZodIssue

function issueMessage(issue: ZodIssue, path: string, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `${path} is required`
      return `${path} must be ${article[issue.expected] ?? issue.expected}, got ${describe(value)}`
    case 'invalid_value':
      return `${path} must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describe(value)}`
    case 'too_big': {
      const unit = issue.origin === 'array' ? 'items' : 'characters'
      return `${path} must have at most ${issue.maximum} ${unit}; shorten it`
    }
    case 'too_small': {
      if (issue.origin === 'string' && Number(issue.minimum) === 1) {
        return `${path} must not be empty`
      }
      const unit = issue.origin === 'array' ? 'items' : 'characters'
      return `${path} must have at least ${issue.minimum} ${unit}`
    }
    case 'invalid_key': {
      const inner = issue.issues[0]
      if (inner?.code === 'custom') return `${path} ${inner.message}`
      return `${path} is not a valid name; names must be non-empty strings`
    }
    case 'unrecognized_keys':
      return `${path} has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'}`
    case 'custom':
      return `${path} ${issue.message}`
    default:
      return `${path} is invalid (${issue.message})`
  }
}

/** Turns zod issues into field issues whose messages name the field and what it must be. */
export function issuesFromZod(error: z.ZodError, input: unknown): FieldIssue[] {
  const seen = new Set<string>()
  const out: FieldIssue[] = []
  for (const issue of error.issues) {
    const path = fieldPath(issue.path)
    const message = issueMessage(issue, path, valueAt(input, issue.path))
    if (seen.has(message)) continue
    seen.add(message)
    out.push({ path, message })
  }
  return out
}

/** Go's zero `time.Time`, which Alertmanager sends as the `endsAt` of a firing alert. */
const goZeroTime = Date.parse('0001-01-01T00:00:00Z')

const rfc3339 =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?$/

/**
 * Parses an RFC 3339 / ISO 8601 date-time (fractional seconds up to nanoseconds, `Z` or an offset
 * with or without a colon; no zone means UTC). Go's zero time is "not set" and reads as null;
 * anything else unreadable is undefined.
 */
export function parseTimestamp(text: string): Instant | null | undefined {
  if (!rfc3339.test(text)) return undefined
  let normalised = text.replace(' ', 'T')
  // `+0000` (PagerDuty's own examples) is ISO 8601 but not what Date.parse reads everywhere.
  normalised = normalised.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
  if (!/([Zz]|[+-]\d{2}(:\d{2})?)$/.test(normalised)) normalised += 'Z'
  // Date.parse keeps milliseconds; cut longer fractions so every engine reads them.
  normalised = normalised.replace(/(\.\d{3})\d+/, '$1')
  const ms = Date.parse(normalised)
  if (!Number.isFinite(ms)) return undefined
  return ms === goZeroTime ? null : ms
}

/** An optional timestamp field: a date-time string, Go's zero time or an empty string (unset). */
export const timestampSchema = z.string().transform((text, ctx): Instant | undefined => {
  if (text === '') return undefined
  const ms = parseTimestamp(text)
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an RFC 3339 time such as 2024-05-01T12:00:00Z, got ${describe(text)}`,
    })
    return z.NEVER
  }
  return ms ?? undefined
})

/** Label names and values are strings; names are non-empty. */
export const labelsSchema = z.record(z.string().min(1), z.string())

/** Annotations are string to string, like Alertmanager's. */
export const annotationsSchema = labelsSchema

/** Drops labels with an empty value, as Prometheus and Alertmanager do (they never match). */
export function cleanLabels(labels: Readonly<Record<string, string>>): Labels {
  const out: Labels = {}
  for (const [name, value] of Object.entries(labels)) if (value !== '') out[name] = value
  return out
}

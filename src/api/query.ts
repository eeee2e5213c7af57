import { InputError } from '../core/errors.js'

/** A page of a list response; `next` is the cursor to pass back for the following page. */
export interface Page<T> {
  items: T[]
  next?: string
}

/** The querystring schema of `limit` every list shares. */
export const limitSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  default: 100,
  description: 'Items per page (1–1000).',
} as const

/** The querystring schema of a `before` cursor that is a time or an id from a previous `next`. */
export const beforeSchema = {
  type: 'string',
  description: 'Cursor: the `next` value of the previous page.',
} as const

/** The JSON schema of a list response, for the OpenAPI document. */
export function pageSchema(description: string, item: object = { type: 'object' }) {
  return {
    description,
    type: 'object',
    properties: {
      items: { type: 'array', items: item },
      next: { type: 'string', description: 'Cursor of the next page; absent on the last page.' },
    },
  } as const
}

/**
 * Cuts `rows` (read with `limit + 1`) to one page; the extra row only says there is a next page,
 * whose cursor is taken from the page's last item.
 */
export function pageOf<T>(rows: T[], limit: number, cursor: (last: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows }
  const items = rows.slice(0, limit)
  return { items, next: cursor(items[items.length - 1] as T) }
}

/** Parses an instant given as milliseconds since the epoch or an ISO 8601 time. */
export function parseInstant(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isSafeInteger(ms)) {
    throw new InputError(
      `${field} must be an ISO 8601 time (2024-05-01T12:00:00Z) or milliseconds since the epoch, got ${JSON.stringify(value)}`,
      { details: [{ path: field, message: 'not a time' }] },
    )
  }
  return ms
}

/** Parses a non-negative integer cursor such as an id. */
export function parseIdCursor(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d{1,15}$/.test(value)) {
    throw new InputError(
      `${field} must be the \`next\` value of a previous page (a number), got ${JSON.stringify(value)}`,
      { details: [{ path: field, message: 'not a cursor' }] },
    )
  }
  return Number(value)
}

/** Parses repeated `label=key:value` filters into one map; every pair must match. */
export function parseLabelFilter(values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const value of values ?? []) {
    const colon = value.indexOf(':')
    if (colon <= 0) {
      throw new InputError(
        `label filter must be key:value (label=team:dba), got ${JSON.stringify(value)}`,
        { details: [{ path: 'label', message: 'must be key:value' }] },
      )
    }
    out[value.slice(0, colon)] = value.slice(colon + 1)
  }
  return out
}

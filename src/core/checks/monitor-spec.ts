import { z } from 'zod'
import { formatDuration, parseDuration } from '../time.js'
import { isAllowedKey, reservedKeyMessage } from '../reserved-keys.js'

/** A duration field: a Go-style string (`20s`, `1h30m`) or a number of seconds; parsed to ms. */
export function durationField(what: string, bounds: { min?: number; max?: number } = {}) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value)
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be a duration like 30s, 5m or 1h30m, got ${JSON.stringify(value)}`,
      })
      return z.NEVER
    }
    if (bounds.min !== undefined && ms < bounds.min) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be ≥ ${formatDuration(bounds.min)}, got ${formatDuration(ms)}`,
      })
      return z.NEVER
    }
    if (bounds.max !== undefined && ms > bounds.max) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be ≤ ${formatDuration(bounds.max)}, got ${formatDuration(ms)}`,
      })
      return z.NEVER
    }
    return ms
  })
}

/** Label names follow Prometheus' rules so labels survive a trip through Alertmanager. */
export const labelsSchema = z.record(
  z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names must match [a-zA-Z_][a-zA-Z0-9_]*'),
  z.string(),
)

/** Monitor ids are stable slugs used in URLs, labels and keel.yaml keys. */
export const monitorIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'ids must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .refine(isAllowedKey, { error: (issue) => reservedKeyMessage(String(issue.input)) })

/** Fields every monitor has, whatever its type; each probe adds its own fields beside them. */
export const monitorCommonShape = {
  name: z.string().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
  interval: durationField('interval', { min: 1_000, max: 86_400_000 }).default(60_000),
  timeout: durationField('timeout', { min: 100, max: 600_000 }).default(10_000),
  retries: z.number().int().min(0).max(100).default(1),
  recoveries: z.number().int().min(1).max(100).default(1),
  conditions: z.array(z.string()).default([]),
  labels: labelsSchema.default({}),
  severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
  channels: z.array(z.string()).optional(),
  paused: z.boolean().default(false),
  public: z.boolean().default(false),
  runbook: z.string().optional(),
}

/** The common part of a monitor spec after parsing (durations in ms). */
export type MonitorCommon = z.output<z.ZodObject<typeof monitorCommonShape>>

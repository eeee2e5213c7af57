import { DateTime } from 'luxon'
import { z } from 'zod'
import type { Instant } from '../time.js'
import { parseClockTime, parseLocalDateTime, zoneOf } from './wall-clock.js'
import { isAllowedKey, reservedKeyMessage } from '../reserved-keys.js'

/** The days a restriction window can start on, in ISO order (Monday first). */
export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

/** A day of the week as written in a restriction. */
export type Weekday = (typeof weekdays)[number]

const idSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, {
    error: (issue) =>
      `ids must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(issue.input)}`,
  })
  .refine(isAllowedKey, { error: (issue) => reservedKeyMessage(String(issue.input)) })

function clockTimeField(field: string) {
  return z.string().refine((text) => parseClockTime(text) !== undefined, {
    error: (issue) =>
      `\`${field}\` must be a 24-hour local time like 09:00 or 23:30, got ${JSON.stringify(issue.input)}`,
  })
}

function instantField(field: string) {
  return z.union([z.number().int(), z.string()]).transform((value, ctx): Instant => {
    if (typeof value === 'number') return value
    // An override is a fact about real time; a local time would be ambiguous across DST.
    const parsed = /(Z|[+-]\d{2}:?\d{2})$/i.test(value)
      ? DateTime.fromISO(value, { setZone: true })
      : undefined
    if (!parsed?.isValid) {
      ctx.addIssue({
        code: 'custom',
        message: `\`${field}\` must be an ISO 8601 date-time with an offset such as 2026-11-23T08:00:00Z, or epoch milliseconds, got ${JSON.stringify(value)}`,
      })
      return z.NEVER
    }
    return parsed.toMillis()
  })
}

/** An IANA time-zone name the runtime knows, such as `Europe/Berlin`. */
export const timeZoneSchema = z.string().refine((name) => zoneOf(name) !== undefined, {
  error: (issue) =>
    `\`timeZone\` must be an IANA time zone such as Europe/Berlin or America/New_York, got ${JSON.stringify(issue.input)}`,
})

/**
 * A weekly window in the schedule's zone during which a layer is on call; a `to` at or before
 * `from` ends on the next day (`22:00`–`06:00` spans midnight, `00:00`–`00:00` is the whole day).
 */
export const restrictionSchema = z.object({
  days: z
    .array(z.enum(weekdays))
    .min(1, '`days` must list at least one of mon, tue, wed, thu, fri, sat, sun'),
  from: clockTimeField('from'),
  to: clockTimeField('to'),
})

/** A weekly window during which a layer is on call, in the schedule's zone. */
export type Restriction = z.output<typeof restrictionSchema>

/** How often a layer hands off: calendar days and weeks in the zone, or elapsed hours. */
export const rotationSchema = z.object({
  every: z
    .number()
    .int('`every` must be a whole number of units')
    .min(1, '`every` must be at least 1')
    .max(1000, '`every` must be at most 1000; use a larger unit'),
  unit: z.enum(['hour', 'day', 'week']),
})

/** How often a layer hands off. */
export type Rotation = z.output<typeof rotationSchema>

/**
 * One rotation of users; a later layer in a schedule wins wherever it has someone on call.
 * `start` is the first hand-off, and an absent or empty `restrictions` list means always on.
 */
export const layerSchema = z
  .object({
    id: idSchema,
    users: z.array(z.string().min(1, 'user ids must not be empty')).default([]),
    start: z.string().refine((text) => parseLocalDateTime(text) !== undefined, {
      error: (issue) =>
        `\`start\` must be a local date-time in the schedule's zone without offset, such as 2026-03-23T09:00, got ${JSON.stringify(issue.input)}`,
    }),
    rotation: rotationSchema,
    handoffTime: clockTimeField('handoffTime').optional(),
    restrictions: z.array(restrictionSchema).optional(),
  })
  .refine((layer) => layer.handoffTime === undefined || layer.rotation.unit !== 'hour', {
    path: ['handoffTime'],
    error:
      '`handoffTime` applies only to day and week rotations; remove it, or hourly rotations hand off every `every` hours from `start`',
  })

/** One rotation of users in a schedule, after validation. */
export type Layer = z.output<typeof layerSchema>

/** A user on call for a fixed real-time range, above every layer. */
export const overrideSchema = z
  .object({
    user: z.string().min(1, '`user` must not be empty'),
    start: instantField('start'),
    end: instantField('end'),
  })
  .refine((override) => override.end > override.start, {
    path: ['end'],
    error: '`end` must be after `start`; an override needs a positive length',
  })

/** A user on call for a fixed real-time range, after validation (instants in epoch ms). */
export type Override = z.output<typeof overrideSchema>

/**
 * An on-call schedule: layers lowest first, overrides above them all (a later override wins
 * where two overlap), all local times read in `timeZone`.
 */
export const scheduleSchema = z.object({
  id: idSchema,
  timeZone: timeZoneSchema,
  /** The team that owns it: a team-scoped operator of that team may add and remove overrides. */
  team: z.string().min(1).max(200).optional(),
  layers: z
    .array(layerSchema)
    .default([])
    .superRefine((layers, ctx) => {
      const seen = new Set<string>()
      layers.forEach((layer, index) => {
        if (seen.has(layer.id)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'id'],
            message: `layer id \`${layer.id}\` is used twice; give each layer of a schedule its own id`,
          })
        }
        seen.add(layer.id)
      })
    }),
  overrides: z.array(overrideSchema).default([]),
})

/** A validated on-call schedule, the input of every schedule function. */
export type Schedule = z.output<typeof scheduleSchema>

/** A schedule as written in keel.yaml or sent to the API, before defaults and transforms. */
export type ScheduleInput = z.input<typeof scheduleSchema>

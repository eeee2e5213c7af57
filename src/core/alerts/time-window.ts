import { DateTime, IANAZone } from 'luxon'
import { z } from 'zod'
import type { Instant } from '../time.js'

/** The days a weekly window can be on, Monday first (ISO order). */
export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

/** A day of the week as written in silences and maintenance windows. */
export type Weekday = (typeof weekdays)[number]

/**
 * A window that opens at `from` and closes at `to` (`HH:mm`, on the wall clock of `timeZone`)
 * on each of `days`; a `to` at or before `from` closes on the next day, so `22:00`–`06:00`
 * spans midnight and `00:00`–`00:00` is the whole day.
 */
export interface WeeklyWindow {
  timeZone: string
  days: readonly Weekday[]
  from: string
  to: string
}

const minuteMs = 60_000
const dayMs = 86_400_000
const clockPattern = /^([01]\d|2[0-3]):([0-5]\d)$/
const zones = new Map<string, IANAZone | undefined>()

function zoneOf(name: string): IANAZone | undefined {
  if (!zones.has(name))
    zones.set(name, IANAZone.isValidZone(name) ? IANAZone.create(name) : undefined)
  return zones.get(name)
}

function clockMs(text: string): number | undefined {
  const match = clockPattern.exec(text)
  return match ? (Number(match[1]) * 60 + Number(match[2])) * minuteMs : undefined
}

function weekdayOf(day: number): Weekday {
  // Day 0, 1970-01-01, was a Thursday (index 3 from Monday).
  return weekdays[(((day + 3) % 7) + 7) % 7] as Weekday
}

interface Compiled {
  zone: IANAZone
  from: number
  to: number
  days: ReadonlySet<Weekday>
}

function compile(window: WeeklyWindow): Compiled | undefined {
  const zone = zoneOf(window.timeZone)
  const from = clockMs(window.from)
  const to = clockMs(window.to)
  if (!zone || from === undefined || to === undefined) return undefined
  return { zone, from, to, days: new Set(window.days) }
}

function contains(window: Compiled, at: Instant): boolean {
  // Alertmanager's time intervals test the wall clock the same way: convert, then compare
  // fields. In a repeated hour (fall-back) both passes through the window count.
  const wall = at + window.zone.offset(at) * minuteMs
  const day = Math.floor(wall / dayMs)
  const msOfDay = wall - day * dayMs
  const on = (d: number) => window.days.has(weekdayOf(d))
  if (window.to > window.from) return on(day) && msOfDay >= window.from && msOfDay < window.to
  return (on(day) && msOfDay >= window.from) || (on(day - 1) && msOfDay < window.to)
}

/** Whether the zone's wall clock at `at` lies inside the weekly window. */
export function isInWeeklyWindow(window: WeeklyWindow, at: Instant): boolean {
  const compiled = compile(window)
  return compiled !== undefined && contains(compiled, at)
}

function transitionBetween(zone: IANAZone, low: Instant, high: Instant): Instant {
  const before = zone.offset(low)
  let lo = low
  let hi = high
  while (hi - lo > 1) {
    const middle = Math.floor((lo + hi) / 2)
    if (zone.offset(middle) === before) lo = middle
    else hi = middle
  }
  return hi
}

/**
 * The first instant after `after` at which the window opens or closes, or undefined when it
 * never changes (no days, or every day all day). Wall-clock boundaries are found in the zone,
 * so a 02:30 boundary on a spring-forward night falls at the jump, as the clock never reads it.
 */
export function nextWeeklyWindowChange(window: WeeklyWindow, after: Instant): Instant | undefined {
  const compiled = compile(window)
  if (!compiled) return undefined
  const { zone } = compiled
  const firstDay = Math.floor((after + zone.offset(after) * minuteMs) / dayMs)
  const candidates: Instant[] = []
  // A weekly pattern repeats within 7 days, and a window lasts at most a day.
  for (let day = firstDay - 1; day <= firstDay + 8; day++) {
    for (const boundary of new Set([compiled.from, compiled.to])) {
      const wall = day * dayMs + boundary
      for (const offset of new Set([zone.offset(wall - dayMs), zone.offset(wall + dayMs)])) {
        const candidate = wall - offset * minuteMs
        if (zone.offset(candidate) === offset) candidates.push(candidate)
      }
    }
    // The clock jumps at an offset change, which can open or close a window by itself.
    const low = day * dayMs - 14 * 3_600_000
    if (zone.offset(low) !== zone.offset(low + dayMs)) {
      candidates.push(transitionBetween(zone, low, low + dayMs))
    }
  }
  candidates.sort((a, b) => a - b)
  return candidates.find(
    (candidate) =>
      candidate > after && contains(compiled, candidate) !== contains(compiled, candidate - 1),
  )
}

/**
 * When something is in effect: from `start` (inclusive) to `end` (exclusive), either of which
 * may be open, and, when `weekly` is set, only inside its weekly windows.
 */
export interface TimeWindow {
  start?: Instant
  end?: Instant
  weekly?: WeeklyWindow
}

/** Whether a time window is in effect at an instant. */
export function isInTimeWindow(window: TimeWindow, at: Instant): boolean {
  if (window.start !== undefined && at < window.start) return false
  if (window.end !== undefined && at >= window.end) return false
  return window.weekly === undefined || isInWeeklyWindow(window.weekly, at)
}

/**
 * The first instant after `after` at which the time window comes into or goes out of effect,
 * or undefined when it never changes again; the engine stores it as a due row.
 */
export function nextTimeWindowChange(window: TimeWindow, after: Instant): Instant | undefined {
  const { start, end, weekly } = window
  // Before `start` nothing is in effect, so weekly changes before it need not be walked.
  let from = start !== undefined && after < start - 1 ? start - 1 : after
  for (;;) {
    if (end !== undefined && from >= end) return undefined
    const options = [
      start !== undefined && start > from ? start : undefined,
      end !== undefined && end > from ? end : undefined,
      weekly ? nextWeeklyWindowChange(weekly, from) : undefined,
    ].filter((t): t is Instant => t !== undefined)
    if (options.length === 0) return undefined
    const candidate = Math.min(...options)
    if (isInTimeWindow(window, candidate) !== isInTimeWindow(window, candidate - 1)) {
      return candidate
    }
    from = candidate
  }
}

/** The fields of a weekly window in config: `days`, `from` and `to`. */
export const weeklyWindowFields = {
  days: z
    .array(z.enum(weekdays))
    .min(1, '`days` must list at least one of mon, tue, wed, thu, fri, sat, sun'),
  from: clockTimeSchema('from'),
  to: clockTimeSchema('to'),
}

function clockTimeSchema(field: string) {
  return z.string().refine((text) => clockMs(text) !== undefined, {
    error: (issue) =>
      `\`${field}\` must be a 24-hour local time like 09:00 or 23:30, got ${JSON.stringify(issue.input)}`,
  })
}

/** A config field holding an IANA time-zone name the runtime knows, such as `Europe/Berlin`. */
export function timeZoneField(field: string) {
  return z.string().refine((name) => zoneOf(name) !== undefined, {
    error: (issue) =>
      `\`${field}\` must be an IANA time zone such as Europe/Berlin or America/New_York, got ${JSON.stringify(issue.input)}`,
  })
}

/**
 * An instant in config: epoch milliseconds or an ISO 8601 date-time with an offset
 * (`2026-03-29T01:00:00Z`); a local time would be ambiguous across DST.
 */
export function instantSchema(field: string) {
  return z.union([z.number().int(), z.string()]).transform((value, ctx): Instant => {
    if (typeof value === 'number') return value
    const parsed = /(Z|[+-]\d{2}:?\d{2})$/i.test(value)
      ? DateTime.fromISO(value, { setZone: true })
      : undefined
    if (!parsed?.isValid) {
      ctx.addIssue({
        code: 'custom',
        message: `\`${field}\` must be an ISO 8601 date-time with an offset such as 2026-03-29T01:00:00Z, or epoch milliseconds, got ${JSON.stringify(value)}`,
      })
      return z.NEVER
    }
    return parsed.toMillis()
  })
}

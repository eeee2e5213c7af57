import { IANAZone } from 'luxon'
import type { Instant } from '../time.js'

/**
 * A reading of a zone's wall clock, as milliseconds since 1970-01-01T00:00 on that clock; its UTC
 * fields (`Date.UTC` arithmetic) are the local fields, so calendar math needs no zone.
 */
export type WallClock = number

/** Milliseconds in one minute, the unit of zone offsets. */
export const minuteMs = 60_000
/** Milliseconds in one hour. */
export const hourMs = 3_600_000
/** Milliseconds in one calendar day on a wall clock (not always in real time). */
export const dayMs = 86_400_000

/** The zone of an IANA name, or undefined when the runtime does not know it. */
export function zoneOf(timeZone: string): IANAZone | undefined {
  return IANAZone.isValidZone(timeZone) ? IANAZone.create(timeZone) : undefined
}

/** What the zone's wall clock reads at an instant. */
export function wallClockAt(zone: IANAZone, at: Instant): WallClock {
  return at + zone.offset(at) * minuteMs
}

/**
 * The first instant at which the zone's wall clock reads `wall` or later: the first occurrence
 * of a time the clock passes twice (fall-back), and the end of the jump for a time it skips
 * (spring-forward, e.g. 02:30 on 2026-03-29 in Europe/Berlin is 03:00 CEST).
 */
export function instantAtWallClock(zone: IANAZone, wall: WallClock): Instant {
  // No zone changes its offset twice within two days, so the offsets a day either side of the
  // wall time are the only candidates.
  const before = zone.offset(wall - dayMs)
  const after = zone.offset(wall + dayMs)
  let first: Instant | undefined
  for (const offset of before === after ? [before] : [before, after]) {
    const candidate = wall - offset * minuteMs
    if (zone.offset(candidate) === offset && (first === undefined || candidate < first)) {
      first = candidate
    }
  }
  if (first !== undefined) return first
  // The clock skips `wall`: find the transition, where the offset before it stops applying.
  let low = wall - Math.max(before, after) * minuteMs
  let high = wall - Math.min(before, after) * minuteMs
  const offsetBefore = zone.offset(low)
  if (zone.offset(high) === offsetBefore) return high
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (zone.offset(middle) === offsetBefore) low = middle
    else high = middle
  }
  return high
}

/** The number of the local calendar day a wall-clock reading falls on (day 0 is 1970-01-01). */
export function dayNumber(wall: WallClock): number {
  return Math.floor(wall / dayMs)
}

/** The weekday of a local day number, 0 for Sunday to 6 for Saturday, as `Date#getUTCDay`. */
export function weekdayOf(day: number): number {
  // Day 0, 1970-01-01, was a Thursday.
  return (((day + 4) % 7) + 7) % 7
}

const clockTimePattern = /^([01]\d|2[0-3]):([0-5]\d)$/
const localDateTimePattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/

/** Milliseconds after local midnight of an `HH:mm` time, or undefined when it is not one. */
export function parseClockTime(text: string): number | undefined {
  const match = clockTimePattern.exec(text)
  if (!match) return undefined
  return (Number(match[1]) * 60 + Number(match[2])) * minuteMs
}

/**
 * The wall-clock reading of an ISO local date-time without offset (`2026-03-23T09:00` or
 * `2026-03-23T09:00:00`), or undefined when it is not one or names a day that does not exist.
 */
export function parseLocalDateTime(text: string): WallClock | undefined {
  const match = localDateTimePattern.exec(text)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0))
  const wall = Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second)
  const date = new Date(wall)
  // Date.UTC rolls 2026-02-30 over into March and year 0050 into 1950; a round trip catches both.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() + 1 !== month ||
    date.getUTCDate() !== day
  )
    return undefined
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59) return undefined
  return wall
}

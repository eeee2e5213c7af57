import type { Instant } from '../time.js'
import { finalSchedule, type OnCallShift } from './final-schedule.js'
import type { Schedule } from './schedule-schema.js'
import { spanAt } from './who-is-on-call.js'

/** Options of `scheduleToICal`. */
export interface ScheduleToICalOptions {
  /** The calendar's display name (`NAME`, `X-WR-CALNAME`). */
  calendarName: string
  /** Only this user's shifts; every user's when absent. */
  user?: string
  /** When the feed is generated, written as every event's `DTSTAMP` (core reads no clock). */
  now: Instant
}

const encoder = new TextEncoder()

/** RFC 5545 §3.3.5 UTC form, `20261123T080000Z`; the format has no fractions of a second. */
function utcDateTime(at: Instant): string {
  return new Date(at)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/** RFC 5545 §3.3.11: backslash, semicolon, comma and line breaks are escaped in TEXT values. */
function escapeText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n')
}

/**
 * RFC 5545 §3.1: lines longer than 75 octets continue on lines that start with a space, split
 * between characters, never inside a UTF-8 sequence.
 */
function fold(line: string): string {
  const parts: string[] = []
  let current = ''
  let octets = 0
  for (const char of line) {
    const size = encoder.encode(char).length
    // The leading space of a continuation line counts towards its 75 octets.
    if (octets + size > 75) {
      parts.push(current)
      current = ' '
      octets = 1
    }
    current += char
    octets += size
  }
  parts.push(current)
  return parts.join('\r\n')
}

/** FNV-1a 32-bit, enough to keep a user id's characters out of a UID while staying stable. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash.toString(16).padStart(8, '0')
}

function describe(schedule: Schedule, shift: OnCallShift): string {
  return shift.source.kind === 'layer'
    ? `Layer ${shift.source.layerId} of schedule ${schedule.id}`
    : `Override in schedule ${schedule.id}`
}

/**
 * The shifts within `[from, to)` as an RFC 5545 calendar, one event per shift in UTC, for
 * subscribing from a calendar app. Shifts that run over the edges of the range keep their whole
 * length, and a UID depends only on the schedule, the shift's start and its user, so a feed
 * fetched again over a moving range updates events instead of duplicating them.
 */
export function scheduleToICal(
  schedule: Schedule,
  from: Instant,
  to: Instant,
  options: ScheduleToICalOptions,
): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Keel//On-call schedule//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `NAME:${escapeText(options.calendarName)}`,
    `X-WR-CALNAME:${escapeText(options.calendarName)}`,
  ]
  const stamp = utcDateTime(options.now)
  for (const clipped of finalSchedule(schedule, from, to)) {
    if (clipped.user === undefined) continue
    if (options.user !== undefined && clipped.user !== options.user) continue
    const shift =
      clipped.start === from || clipped.end === to ? spanAt(schedule, clipped.start) : clipped
    if (shift.user === undefined) continue
    const start = utcDateTime(shift.start)
    lines.push(
      'BEGIN:VEVENT',
      `UID:${escapeText(`oncall-${schedule.id}-${start}-${shortHash(shift.user)}@keel`)}`,
      `DTSTAMP:${stamp}`,
      `DTSTART:${start}`,
      `DTEND:${utcDateTime(shift.end)}`,
      `SUMMARY:${escapeText(`On call: ${shift.user}`)}`,
      `DESCRIPTION:${escapeText(describe(schedule, shift))}`,
      // Being on call does not make someone busy, so the shifts do not block free/busy time.
      'TRANSP:TRANSPARENT',
      'END:VEVENT',
    )
  }
  lines.push('END:VCALENDAR')
  return lines.map(fold).join('\r\n') + '\r\n'
}

import { DateTime } from 'luxon'
import { z } from 'zod'
import type { Instant } from '../time.js'
import type { Route, RouteMatch } from './routing.js'
import { timeZoneField } from './time-window.js'

/** An inclusive range of numbers: weekdays (0 is Sunday), days of a month, months, years. */
export interface NumberRange {
  begin: number
  end: number
}

/**
 * One of Alertmanager's `time_intervals` entries, parsed. Each set field must hold for an
 * instant to be inside; `times` are minutes of the day, start inclusive and end exclusive;
 * negative days of the month count from its end (-1 is the last day). Read in `location`.
 */
export interface TimeInterval {
  times?: readonly { start: number; end: number }[]
  weekdays?: readonly NumberRange[]
  daysOfMonth?: readonly NumberRange[]
  months?: readonly NumberRange[]
  years?: readonly NumberRange[]
  location?: string
}

/** Named time intervals, as routes refer to them in `muteTimeIntervals` and `activeTimeIntervals`. */
export type TimeIntervals = Readonly<Record<string, readonly TimeInterval[]>>

const inRanges = (ranges: readonly NumberRange[] | undefined, value: number) =>
  ranges === undefined || ranges.some((r) => value >= r.begin && value <= r.end)

function dayOfMonthMatches(ranges: readonly NumberRange[], day: number, daysInMonth: number) {
  return ranges.some((range) => {
    const begin = range.begin < 0 ? daysInMonth + range.begin + 1 : range.begin
    const end = range.end < 0 ? daysInMonth + range.end + 1 : range.end
    // As Alertmanager: a range starting after this month's last day skips the month, and the
    // end is clamped so `28:31` never spills into the next month.
    if (begin > daysInMonth) return false
    return day >= begin && day <= Math.min(end, daysInMonth)
  })
}

/** Whether an instant lies inside one time interval, as Alertmanager's `ContainsTime`. */
export function isInTimeInterval(interval: TimeInterval, at: Instant): boolean {
  const time = DateTime.fromMillis(at, { zone: interval.location ?? 'UTC' })
  if (!time.isValid) return false
  const minutes = time.hour * 60 + time.minute
  if (interval.times && !interval.times.some((t) => minutes >= t.start && minutes < t.end)) {
    return false
  }
  if (
    interval.daysOfMonth &&
    !dayOfMonthMatches(interval.daysOfMonth, time.day, time.daysInMonth ?? 31)
  ) {
    return false
  }
  // luxon numbers weekdays 1 (Monday) to 7 (Sunday); Alertmanager 0 (Sunday) to 6.
  return (
    inRanges(interval.weekdays, time.weekday % 7) &&
    inRanges(interval.months, time.month) &&
    inRanges(interval.years, time.year)
  )
}

/**
 * Whether a matched route is muted at `at`: inside any of its mute time intervals, or outside
 * all of its active time intervals when it has some. An unknown name matches nothing; the
 * config schema checks the names.
 */
export function isRouteMuted(
  route: Pick<RouteMatch, 'muteTimeIntervals' | 'activeTimeIntervals'>,
  intervals: TimeIntervals,
  at: Instant,
): boolean {
  const inside = (name: string) =>
    (Object.hasOwn(intervals, name) ? (intervals[name] ?? []) : []).some((interval) =>
      isInTimeInterval(interval, at),
    )
  if (route.muteTimeIntervals.some(inside)) return true
  return route.activeTimeIntervals.length > 0 && !route.activeTimeIntervals.some(inside)
}

const weekdayNames = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
const monthNames = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]

interface RangeRule {
  field: string
  read: (part: string) => number | undefined
  example: string
  check?: (range: NumberRange) => string | undefined
}

function integer(part: string): number | undefined {
  return /^-?\d+$/.test(part) ? Number(part) : undefined
}

const rangeRules: Record<'weekdays' | 'daysOfMonth' | 'months' | 'years', RangeRule> = {
  weekdays: {
    field: 'weekdays',
    read: (part) => {
      const index = weekdayNames.indexOf(part.toLowerCase())
      return index === -1 ? undefined : index
    },
    example: "'monday:friday' or 'saturday'",
  },
  daysOfMonth: {
    field: 'daysOfMonth',
    read: (part) => {
      const day = integer(part)
      return day !== undefined && day !== 0 && day >= -31 && day <= 31 ? day : undefined
    },
    example: "'1:5', '15' or '-3:-1' (the last three days)",
    check: ({ begin, end }) => {
      if (begin < 0 && end > 0) return 'a range starting from the end must end from the end too'
      // Alertmanager checks the order against a 28-day month, the shortest.
      const length = 28
      const from = begin < 0 ? length + begin : begin
      const to = end < 0 ? length + end : end
      return from > to ? `the end day ${end} is before the start day ${begin}` : undefined
    },
  },
  months: {
    field: 'months',
    read: (part) => {
      const byName = monthNames.indexOf(part.toLowerCase())
      if (byName !== -1) return byName + 1
      const month = integer(part)
      return month !== undefined && month >= 1 && month <= 12 ? month : undefined
    },
    example: "'january:march', '1:3' or 'december'",
  },
  years: {
    field: 'years',
    read: (part) => {
      const year = integer(part)
      return year !== undefined && year >= 1 ? year : undefined
    },
    example: "'2026:2027' or '2026'",
  },
}

function rangeList(rule: RangeRule) {
  return z.array(z.union([z.string(), z.number().int()])).transform((items, ctx) => {
    const ranges: NumberRange[] = []
    items.forEach((item, index) => {
      const text = String(item).trim()
      const parts = text.split(':')
      const [begin, end] = parts.map((part) => rule.read(part.trim()))
      const range =
        parts.length <= 2 && begin !== undefined && (parts.length === 1 || end !== undefined)
          ? { begin, end: end ?? begin }
          : undefined
      const problem = !range
        ? `${JSON.stringify(text)} is not a ${rule.field} value or range`
        : (rule.check?.(range) ??
          (range.begin > range.end ? `${JSON.stringify(text)} ends before it starts` : undefined))
      if (problem || !range) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `\`${rule.field}\`: ${problem}; write it like ${rule.example}`,
        })
        return
      }
      ranges.push(range)
    })
    return ranges
  })
}

const clockPattern = /^(\d{2}):(\d{2})$/

function clockMinutes(text: string): number | undefined {
  const match = clockPattern.exec(text)
  if (!match) return undefined
  const minutes = Number(match[1]) * 60 + Number(match[2])
  return Number(match[2]) < 60 && minutes <= 24 * 60 ? minutes : undefined
}

const timeRangeSchema = z
  .object({ startTime: z.string(), endTime: z.string() })
  .transform((input, ctx) => {
    const start = clockMinutes(input.startTime)
    const end = clockMinutes(input.endTime)
    for (const [field, value, text] of [
      ['startTime', start, input.startTime],
      ['endTime', end, input.endTime],
    ] as const) {
      if (value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `\`${field}\` must be a time from 00:00 to 24:00 such as 09:00, got ${JSON.stringify(text)}`,
        })
      }
    }
    if (start === undefined || end === undefined) return z.NEVER
    if (start >= end) {
      ctx.addIssue({
        code: 'custom',
        path: ['endTime'],
        message: `\`endTime\` ${input.endTime} must be after \`startTime\` ${input.startTime}; split a range across midnight in two (22:00–24:00 and 00:00–06:00)`,
      })
    }
    return { start, end }
  })

/**
 * One Alertmanager time interval in config, with camelCase keys (`startTime`, `daysOfMonth`),
 * parsed into a `TimeInterval`; unset fields match any time.
 */
export const timeIntervalSchema = z.object({
  times: z.array(timeRangeSchema).optional(),
  weekdays: rangeList(rangeRules.weekdays).optional(),
  daysOfMonth: rangeList(rangeRules.daysOfMonth).optional(),
  months: rangeList(rangeRules.months).optional(),
  years: rangeList(rangeRules.years).optional(),
  location: timeZoneField('location').optional(),
})

/** Named time intervals in config: Alertmanager's `time_intervals` as a map keyed by name. */
export const timeIntervalsSchema = z.record(
  z.string().min(1, 'time interval names must not be empty'),
  z.array(timeIntervalSchema),
)

/** Named time intervals as config gives them, before parsing. */
export type TimeIntervalsInput = z.input<typeof timeIntervalsSchema>

/**
 * Problems with the interval names a routing tree uses: each name in a route's
 * `muteTimeIntervals` or `activeTimeIntervals` must be defined, as Alertmanager requires.
 */
export function routeTimeIntervalIssues(tree: Route, intervals: TimeIntervals): string[] {
  const issues: string[] = []
  const visit = (route: Route, path: string) => {
    for (const field of ['muteTimeIntervals', 'activeTimeIntervals'] as const) {
      for (const name of route[field] ?? []) {
        if (!Object.hasOwn(intervals, name)) {
          issues.push(
            `route ${path}: \`${field}\` names ${JSON.stringify(name)}, which is not defined; define it under \`timeIntervals\` or remove it`,
          )
        }
      }
    }
    route.routes?.forEach((child, index) => visit(child, `${path}.routes[${index}]`))
  }
  visit(tree, 'route')
  return issues
}

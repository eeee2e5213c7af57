import fc from 'fast-check'
import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import {
  isInTimeWindow,
  isInWeeklyWindow,
  nextTimeWindowChange,
  nextWeeklyWindowChange,
  weekdays,
  type WeeklyWindow,
} from './time-window.js'

const utc = (iso: string): Instant => Date.parse(iso)
const berlin = 'Europe/Berlin'
const newYork = 'America/New_York'

/** An instant read on a zone's wall clock, `2026-03-29 03:00+02:00`, for readable failures. */
function local(at: Instant | undefined, zone: string): string | undefined {
  if (at === undefined) return undefined
  return DateTime.fromMillis(at, { zone }).toFormat('yyyy-MM-dd HH:mmZZ')
}

function changes(window: WeeklyWindow, from: Instant, count: number): (string | undefined)[] {
  const out: (string | undefined)[] = []
  let at: Instant | undefined = from
  for (let i = 0; i < count && at !== undefined; i++) {
    at = nextWeeklyWindowChange(window, at)
    out.push(local(at, window.timeZone))
  }
  return out
}

const officeHours: WeeklyWindow = {
  timeZone: berlin,
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  from: '09:00',
  to: '17:00',
}
const mondayNight: WeeklyWindow = { timeZone: berlin, days: ['mon'], from: '22:00', to: '06:00' }

describe('isInWeeklyWindow', () => {
  it.each<{ name: string; window: WeeklyWindow; at: string; inside: boolean }>([
    {
      name: 'a minute before opening',
      window: officeHours,
      at: '2026-03-02T07:59Z',
      inside: false,
    },
    { name: 'at opening, inclusive', window: officeHours, at: '2026-03-02T08:00Z', inside: true },
    { name: 'a minute before closing', window: officeHours, at: '2026-03-02T15:59Z', inside: true },
    { name: 'at closing, exclusive', window: officeHours, at: '2026-03-02T16:00Z', inside: false },
    { name: 'on a day not listed', window: officeHours, at: '2026-03-07T10:00Z', inside: false },
    {
      name: 'in summer time, on the local clock',
      window: officeHours,
      at: '2026-07-01T07:00Z',
      inside: true,
    },
    {
      name: 'late on the listed night',
      window: mondayNight,
      at: '2026-03-02T22:30Z',
      inside: true,
    },
    {
      name: 'after midnight of the listed night',
      window: mondayNight,
      at: '2026-03-03T04:59Z',
      inside: true,
    },
    {
      name: 'at the close the next morning',
      window: mondayNight,
      at: '2026-03-03T05:00Z',
      inside: false,
    },
    {
      name: 'late on the next night, which is not listed',
      window: mondayNight,
      at: '2026-03-03T22:30Z',
      inside: false,
    },
    {
      name: 'early on the listed day, which belongs to the night before',
      window: mondayNight,
      at: '2026-03-02T03:00Z',
      inside: false,
    },
    {
      name: 'a whole day written 00:00 to 00:00, at its last minute',
      window: { timeZone: newYork, days: ['sun'], from: '00:00', to: '00:00' },
      at: '2026-03-09T03:59Z',
      inside: true,
    },
    {
      name: 'a whole day written 00:00 to 00:00, the next day',
      window: { timeZone: newYork, days: ['sun'], from: '00:00', to: '00:00' },
      at: '2026-03-09T04:00Z',
      inside: false,
    },
    {
      name: 'a zone luxon does not know is never inside',
      window: { ...officeHours, timeZone: 'Mars/Olympus' },
      at: '2026-03-02T10:00Z',
      inside: false,
    },
  ])('$name', ({ window, at, inside }) => {
    expect(isInWeeklyWindow(window, utc(at))).toBe(inside)
  })
})

describe('nextWeeklyWindowChange', () => {
  it.each<{ name: string; window: WeeklyWindow; from: string; changes: (string | undefined)[] }>([
    {
      name: 'office hours open and close on the local clock across the spring-forward weekend',
      window: officeHours,
      from: '2026-03-27T12:00Z',
      changes: ['2026-03-27 17:00+01:00', '2026-03-30 09:00+02:00', '2026-03-30 17:00+02:00'],
    },
    {
      name: 'a 02:00–03:00 window on the Berlin spring-forward night never opens that night',
      window: { timeZone: berlin, days: ['sun'], from: '02:00', to: '03:00' },
      from: '2026-03-28T12:00Z',
      changes: ['2026-04-05 02:00+02:00'],
    },
    {
      name: 'a 02:30–04:00 window on the Berlin spring-forward night opens at the jump',
      window: { timeZone: berlin, days: ['sun'], from: '02:30', to: '04:00' },
      from: '2026-03-28T12:00Z',
      changes: ['2026-03-29 03:00+02:00', '2026-03-29 04:00+02:00'],
    },
    {
      name: 'a 02:00–03:00 window on the Berlin fall-back night covers both passes of 02:xx',
      window: { timeZone: berlin, days: ['sun'], from: '02:00', to: '03:00' },
      from: '2026-10-24T12:00Z',
      changes: ['2026-10-25 02:00+02:00', '2026-10-25 03:00+01:00'],
    },
    {
      name: 'a 02:30–04:00 window on the Berlin fall-back night closes when the clock goes back',
      window: { timeZone: berlin, days: ['sun'], from: '02:30', to: '04:00' },
      from: '2026-10-24T12:00Z',
      changes: [
        '2026-10-25 02:30+02:00',
        '2026-10-25 02:00+01:00',
        '2026-10-25 02:30+01:00',
        '2026-10-25 04:00+01:00',
      ],
    },
    {
      name: 'a nightly New York window spanning the spring-forward jump is an hour shorter',
      window: { timeZone: newYork, days: [...weekdays], from: '01:00', to: '04:00' },
      from: '2026-03-07T12:00Z',
      changes: ['2026-03-08 01:00-05:00', '2026-03-08 04:00-04:00', '2026-03-09 01:00-04:00'],
    },
    {
      name: 'a nightly New York window across fall-back reopens for the repeated hour',
      window: { timeZone: newYork, days: [...weekdays], from: '01:30', to: '02:30' },
      from: '2026-10-31T12:00Z',
      changes: [
        '2026-11-01 01:30-04:00',
        '2026-11-01 01:00-05:00',
        '2026-11-01 01:30-05:00',
        '2026-11-01 02:30-05:00',
      ],
    },
    {
      name: 'a window on every day all day never changes',
      window: { timeZone: berlin, days: [...weekdays], from: '00:00', to: '00:00' },
      from: '2026-03-28T12:00Z',
      changes: [undefined],
    },
    {
      name: 'a window on no days never changes',
      window: { timeZone: berlin, days: [], from: '09:00', to: '17:00' },
      from: '2026-03-28T12:00Z',
      changes: [undefined],
    },
  ])('$name', ({ window, from, changes: expected }) => {
    expect(changes(window, utc(from), expected.length)).toEqual(expected)
  })
})

describe('time windows with bounds', () => {
  const weekly = officeHours
  const bounded = { start: utc('2026-03-03T12:00Z'), end: utc('2026-03-04T12:00Z'), weekly }

  it.each<{ name: string; at: string; inside: boolean; next: string | undefined }>([
    { name: 'before the start', at: '2026-03-02T10:00Z', inside: false, next: '2026-03-03T12:00Z' },
    {
      name: 'from the start, in a slot',
      at: '2026-03-03T12:00Z',
      inside: true,
      next: '2026-03-03T16:00Z',
    },
    { name: 'between slots', at: '2026-03-03T20:00Z', inside: false, next: '2026-03-04T08:00Z' },
    {
      name: 'in the last slot, cut by the end',
      at: '2026-03-04T09:00Z',
      inside: true,
      next: '2026-03-04T12:00Z',
    },
    { name: 'after the end', at: '2026-03-04T12:00Z', inside: false, next: undefined },
  ])('$name', ({ at, inside, next }) => {
    expect(isInTimeWindow(bounded, utc(at))).toBe(inside)
    expect(nextTimeWindowChange(bounded, utc(at))).toBe(next === undefined ? undefined : utc(next))
  })

  it('skips weekly changes long before the start', () => {
    const far = { start: utc('2030-01-07T08:00Z'), weekly }
    expect(nextTimeWindowChange(far, utc('2026-01-01T00:00Z'))).toBe(utc('2030-01-07T08:00Z'))
  })
})

// Property checks: the weekly window holds the local wall-clock window in both zones across
// the 2026 DST changes (Berlin 03-29 and 10-25, New York 03-08 and 11-01).
const halfHour = 30 * 60_000
const dstWeeks: [string, Instant][] = [
  [berlin, utc('2026-03-25T00:00Z')],
  [berlin, utc('2026-10-21T00:00Z')],
  [newYork, utc('2026-03-04T00:00Z')],
  [newYork, utc('2026-10-28T00:00Z')],
]
const clockTime = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 30))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`)
const windowAndInstant = fc
  .record({
    week: fc.constantFrom(...dstWeeks),
    days: fc.subarray([...weekdays]),
    from: clockTime,
    to: clockTime,
    offset: fc.integer({ min: 0, max: 8 * 86_400_000 }),
  })
  .map(({ week: [timeZone, start], days, from, to, offset }) => ({
    window: { timeZone, days, from, to },
    at: start + offset,
  }))

/** The wall-clock rule, read independently with luxon's weekday and time fields. */
function onWallClock(window: WeeklyWindow, at: Instant): boolean {
  const time = DateTime.fromMillis(at, { zone: window.timeZone })
  const minutes = time.hour * 60 + time.minute + time.second / 60 + time.millisecond / 60_000
  const [fh, fm] = window.from.split(':').map(Number) as [number, number]
  const [th, tm] = window.to.split(':').map(Number) as [number, number]
  const from = fh * 60 + fm
  const to = th * 60 + tm
  const listed = (weekday: number) => window.days.includes(weekdays[weekday - 1] as never)
  const yesterday = time.minus({ days: 1 }).weekday
  if (to > from) return listed(time.weekday) && minutes >= from && minutes < to
  return (listed(time.weekday) && minutes >= from) || (listed(yesterday) && minutes < to)
}

describe('weekly window properties across the 2026 DST changes', () => {
  it('is inside exactly when the local wall clock is inside', () => {
    fc.assert(
      fc.property(windowAndInstant, ({ window, at }) => {
        expect(isInWeeklyWindow(window, at)).toBe(onWallClock(window, at))
      }),
      { numRuns: 500 },
    )
  })

  it('the next change flips the state, and nothing flips before it', () => {
    fc.assert(
      fc.property(windowAndInstant, ({ window, at }) => {
        const state = isInWeeklyWindow(window, at)
        const next = nextWeeklyWindowChange(window, at)
        const horizon = next ?? at + 9 * 86_400_000
        if (next !== undefined) {
          expect(next).toBeGreaterThan(at)
          expect(isInWeeklyWindow(window, next)).toBe(!state)
          expect(isInWeeklyWindow(window, next - 1)).toBe(state)
        }
        // Boundaries and offset changes fall on half hours here, so checking each one suffices.
        for (let t = Math.ceil(at / halfHour) * halfHour; t < horizon; t += halfHour) {
          expect(isInWeeklyWindow(window, t)).toBe(state)
        }
      }),
      { numRuns: 150 },
    )
  })
})

import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import type { Route } from './routing.js'
import {
  isInTimeInterval,
  isRouteMuted,
  routeTimeIntervalIssues,
  timeIntervalSchema,
  timeIntervalsSchema,
  type TimeIntervals,
} from './time-intervals.js'

const utc = (iso: string): Instant => Date.parse(iso)

const interval = (config: Parameters<typeof timeIntervalSchema.parse>[0]) =>
  timeIntervalSchema.parse(config)

const businessHours = interval({
  times: [{ startTime: '09:00', endTime: '17:00' }],
  weekdays: ['monday:friday'],
  location: 'Europe/Berlin',
})

describe('isInTimeInterval', () => {
  it.each<{ name: string; interval: ReturnType<typeof interval>; at: string; inside: boolean }>([
    {
      name: 'business hours on a Monday morning',
      interval: businessHours,
      at: '2026-03-02T08:00Z',
      inside: true,
    },
    {
      name: 'business hours at 17:00, exclusive',
      interval: businessHours,
      at: '2026-03-02T16:00Z',
      inside: false,
    },
    {
      name: 'business hours on a Saturday',
      interval: businessHours,
      at: '2026-03-07T10:00Z',
      inside: false,
    },
    {
      name: 'business hours read in summer time after the change',
      interval: businessHours,
      at: '2026-03-30T07:00Z',
      inside: true,
    },
    {
      name: 'an interval without location is read in UTC',
      interval: interval({ times: [{ startTime: '00:00', endTime: '01:00' }] }),
      at: '2026-03-02T00:30Z',
      inside: true,
    },
    {
      name: 'a range up to 24:00 includes the last minute of the day',
      interval: interval({ times: [{ startTime: '22:00', endTime: '24:00' }] }),
      at: '2026-03-02T23:59Z',
      inside: true,
    },
    {
      name: 'one of several time ranges is enough',
      interval: interval({
        times: [
          { startTime: '00:00', endTime: '06:00' },
          { startTime: '22:00', endTime: '24:00' },
        ],
      }),
      at: '2026-03-02T05:00Z',
      inside: true,
    },
    {
      name: 'the last day of the month counted from its end',
      interval: interval({ daysOfMonth: ['-1'] }),
      at: '2026-02-28T12:00Z',
      inside: true,
    },
    {
      name: 'a day range past the end of a short month is clamped to it',
      interval: interval({ daysOfMonth: ['28:31'] }),
      at: '2026-03-01T00:00Z',
      inside: false,
    },
    {
      name: 'a range starting after the end of the month skips the month',
      interval: interval({ daysOfMonth: ['30:31'] }),
      at: '2026-02-28T12:00Z',
      inside: false,
    },
    {
      name: 'months by name and years by number',
      interval: interval({ months: ['december', 'january:february'], years: ['2026:2027'] }),
      at: '2027-01-15T12:00Z',
      inside: true,
    },
    {
      name: 'a month outside the list',
      interval: interval({ months: ['1:2'] }),
      at: '2026-03-15T12:00Z',
      inside: false,
    },
    {
      name: 'every field must hold',
      interval: interval({ weekdays: ['sunday'], daysOfMonth: ['1:7'] }),
      at: '2026-03-08T12:00Z',
      inside: false,
    },
    {
      name: 'the first Sunday of a month',
      interval: interval({
        weekdays: ['sunday'],
        daysOfMonth: ['1:7'],
        location: 'America/New_York',
      }),
      at: '2026-03-01T17:00Z',
      inside: true,
    },
    {
      name: 'an empty interval is always inside',
      interval: interval({}),
      at: '2026-03-08T12:00Z',
      inside: true,
    },
  ])('$name', ({ interval, at, inside }) => {
    expect(isInTimeInterval(interval, utc(at))).toBe(inside)
  })
})

describe('isRouteMuted', () => {
  const intervals: TimeIntervals = {
    'business-hours': [businessHours],
    weekends: [interval({ weekdays: ['saturday', 'sunday'] })],
  }
  const saturday = utc('2026-03-07T10:00Z')
  const mondayMorning = utc('2026-03-02T08:00Z')

  it.each<{ name: string; mute: string[]; active: string[]; at: Instant; muted: boolean }>([
    { name: 'no intervals never mute', mute: [], active: [], at: saturday, muted: false },
    { name: 'inside a mute interval', mute: ['weekends'], active: [], at: saturday, muted: true },
    {
      name: 'outside the mute intervals',
      mute: ['weekends'],
      active: [],
      at: mondayMorning,
      muted: false,
    },
    {
      name: 'outside every active interval',
      mute: [],
      active: ['business-hours'],
      at: saturday,
      muted: true,
    },
    {
      name: 'inside an active interval',
      mute: [],
      active: ['business-hours'],
      at: mondayMorning,
      muted: false,
    },
    {
      name: 'an unknown interval name',
      mute: ['holidays'],
      active: [],
      at: saturday,
      muted: false,
    },
  ])('$name', ({ mute, active, at, muted }) => {
    expect(
      isRouteMuted({ muteTimeIntervals: mute, activeTimeIntervals: active }, intervals, at),
    ).toBe(muted)
  })
})

describe('routeTimeIntervalIssues', () => {
  it('names each route that uses an undefined interval', () => {
    const tree: Route = {
      receiver: 'r',
      routes: [
        { muteTimeIntervals: ['weekends'] },
        { routes: [{ activeTimeIntervals: ['business-hours', 'nights'] }] },
      ],
    }
    expect(routeTimeIntervalIssues(tree, { weekends: [] })).toEqual([
      'route route.routes[1].routes[0]: `activeTimeIntervals` names "business-hours", which is not defined; define it under `timeIntervals` or remove it',
      'route route.routes[1].routes[0]: `activeTimeIntervals` names "nights", which is not defined; define it under `timeIntervals` or remove it',
    ])
  })
})

describe('timeIntervalsSchema', () => {
  it('reads Alertmanager time intervals with camelCase keys', () => {
    expect(
      timeIntervalsSchema.parse({
        'first-sunday': [
          {
            weekdays: ['Sunday'],
            daysOfMonth: ['1:7', 15],
            times: [{ startTime: '02:00', endTime: '04:30' }],
          },
        ],
      }),
    ).toEqual({
      'first-sunday': [
        {
          weekdays: [{ begin: 0, end: 0 }],
          daysOfMonth: [
            { begin: 1, end: 7 },
            { begin: 15, end: 15 },
          ],
          times: [{ start: 120, end: 270 }],
        },
      ],
    })
  })

  it.each<{ name: string; config: object; path: (string | number)[]; says: string }>([
    {
      name: 'a time range across midnight',
      config: { times: [{ startTime: '22:00', endTime: '06:00' }] },
      path: ['times', 0, 'endTime'],
      says: 'split a range across midnight in two',
    },
    {
      name: 'a time past 24:00',
      config: { times: [{ startTime: '09:00', endTime: '24:30' }] },
      path: ['times', 0, 'endTime'],
      says: '`endTime` must be a time from 00:00 to 24:00',
    },
    {
      name: 'an abbreviated weekday',
      config: { weekdays: ['mon:fri'] },
      path: ['weekdays', 0],
      says: '"mon:fri" is not a weekdays value or range; write it like \'monday:friday\'',
    },
    {
      name: 'a weekday range running backwards',
      config: { weekdays: ['friday:monday'] },
      path: ['weekdays', 0],
      says: 'ends before it starts',
    },
    {
      name: 'day zero',
      config: { daysOfMonth: ['0'] },
      path: ['daysOfMonth', 0],
      says: 'is not a daysOfMonth value',
    },
    {
      name: 'a day range from the end to a day from the start',
      config: { daysOfMonth: ['-3:5'] },
      path: ['daysOfMonth', 0],
      says: 'must end from the end too',
    },
    {
      name: 'a day range that is backwards in any month',
      config: { daysOfMonth: ['-1:-3'] },
      path: ['daysOfMonth', 0],
      says: 'the end day -3 is before the start day -1',
    },
    {
      name: 'month thirteen',
      config: { months: ['13'] },
      path: ['months', 0],
      says: 'is not a months value',
    },
    {
      name: 'an unknown location',
      config: { location: 'Local' },
      path: ['location'],
      says: '`location` must be an IANA time zone',
    },
  ])('rejects $name', ({ config, path, says }) => {
    const result = timeIntervalsSchema.safeParse({ x: [config] })
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['x', 0, ...path], message: expect.stringContaining(says) }),
    ])
  })
})

import { describe, expect, it } from 'vitest'
import {
  instantAtWallClock,
  parseClockTime,
  parseLocalDateTime,
  wallClockAt,
  weekdayOf,
  dayNumber,
  zoneOf,
} from './wall-clock.js'

const wall = (local: string) => Date.parse(`${local}Z`)

describe('instantAtWallClock', () => {
  it.each([
    {
      name: 'an ordinary Berlin winter time is one hour behind UTC',
      zone: 'Europe/Berlin',
      local: '2026-11-02T09:00',
      instant: '2026-11-02T08:00:00.000Z',
    },
    {
      name: 'a Berlin time skipped by spring-forward becomes 03:00 CEST, where the jump ends',
      zone: 'Europe/Berlin',
      local: '2026-03-29T02:30',
      instant: '2026-03-29T01:00:00.000Z',
    },
    {
      name: 'the Berlin time at which the clock jumps is the jump itself',
      zone: 'Europe/Berlin',
      local: '2026-03-29T02:00',
      instant: '2026-03-29T01:00:00.000Z',
    },
    {
      name: 'a Berlin time repeated by fall-back is its first occurrence, in CEST',
      zone: 'Europe/Berlin',
      local: '2026-10-25T02:30',
      instant: '2026-10-25T00:30:00.000Z',
    },
    {
      name: 'a New York time skipped by spring-forward becomes 03:00 EDT',
      zone: 'America/New_York',
      local: '2026-03-08T02:30',
      instant: '2026-03-08T07:00:00.000Z',
    },
    {
      name: 'a New York time repeated by fall-back is its first occurrence, in EDT',
      zone: 'America/New_York',
      local: '2026-11-01T01:30',
      instant: '2026-11-01T05:30:00.000Z',
    },
    {
      name: 'a Lord Howe time skipped by the half-hour spring-forward becomes 02:30 +11:00',
      zone: 'Australia/Lord_Howe',
      local: '2026-10-04T02:15',
      instant: '2026-10-03T15:30:00.000Z',
    },
    {
      name: 'a Lord Howe time repeated by the half-hour fall-back is its first occurrence, at +11:00',
      zone: 'Australia/Lord_Howe',
      local: '2026-04-05T01:45',
      instant: '2026-04-04T14:45:00.000Z',
    },
    {
      name: 'a zone without DST is a fixed offset',
      zone: 'Asia/Kolkata',
      local: '2026-03-29T02:30',
      instant: '2026-03-28T21:00:00.000Z',
    },
  ])('$name', ({ zone, local, instant }) => {
    const tz = zoneOf(zone)
    if (tz === undefined) throw new Error(`test zone ${zone} is unknown`)
    expect(new Date(instantAtWallClock(tz, wall(local))).toISOString()).toBe(instant)
  })

  it('reads back the wall clock it was given whenever that time exists', () => {
    const tz = zoneOf('Europe/Berlin')
    if (tz === undefined) throw new Error('Europe/Berlin is unknown')
    const local = wall('2026-10-25T02:30')
    expect(wallClockAt(tz, instantAtWallClock(tz, local))).toBe(local)
  })
})

describe('calendar helpers', () => {
  it.each([
    { name: '1970-01-01 was a Thursday', local: '1970-01-01T00:00', weekday: 4 },
    { name: '2026-03-29 is a Sunday', local: '2026-03-29T23:59', weekday: 0 },
    { name: '1969-12-29 was a Monday', local: '1969-12-29T12:00', weekday: 1 },
  ])('$name', ({ local, weekday }) => {
    expect(weekdayOf(dayNumber(wall(local)))).toBe(weekday)
  })

  it.each([
    { text: '09:00', ms: 9 * 3_600_000 },
    { text: '23:59', ms: (23 * 60 + 59) * 60_000 },
    { text: '00:00', ms: 0 },
    { text: '24:00', ms: undefined },
    { text: '9:00', ms: undefined },
    { text: '09:60', ms: undefined },
  ])('the clock time $text is $ms ms after midnight', ({ text, ms }) => {
    expect(parseClockTime(text)).toBe(ms)
  })

  it.each([
    { text: '2026-03-23T09:00', local: '2026-03-23T09:00' },
    { text: '2026-03-23T09:00:30', local: '2026-03-23T09:00:30' },
    { text: '2028-02-29T00:00', local: '2028-02-29T00:00' },
    { text: '2026-02-29T00:00', local: undefined },
    { text: '2026-04-31T09:00', local: undefined },
    { text: '2026-03-23T25:00', local: undefined },
    { text: '2026-03-23T09:00Z', local: undefined },
    { text: '2026-03-23T09:00+01:00', local: undefined },
    { text: '2026-03-23', local: undefined },
  ])('the local date-time $text reads as $local', ({ text, local }) => {
    expect(parseLocalDateTime(text)).toBe(local === undefined ? undefined : wall(local))
  })
})

import fc from 'fast-check'
import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import { finalSchedule, type OnCallShift } from './final-schedule.js'
import { scheduleSchema, type ScheduleInput } from './schedule-schema.js'
import { whoIsOnCall } from './who-is-on-call.js'

const hour = 3_600_000
const day = 24 * hour

/** A span as `03-28 09:00+01:00 → 03-29 09:00+02:00 ann 23h`, in the schedule's zone. */
function render(span: OnCallShift, zone: string): string {
  const local = (t: Instant) => DateTime.fromMillis(t, { zone }).toFormat('MM-dd HH:mmZZ')
  return `${local(span.start)} → ${local(span.end)} ${span.user ?? 'nobody'} ${(span.end - span.start) / hour}h`
}

type LayerInput = NonNullable<ScheduleInput['layers']>[number]

interface Case {
  name: string
  zone: string
  layer: Omit<LayerInput, 'id'>
  from: string
  to: string
  spans: string[]
}

const utc = (iso: string): Instant => Date.parse(iso)

describe('finalSchedule across DST changes', () => {
  it.each<Case>([
    {
      name: 'in Berlin a daily 09:00 hand-off stays at 09:00 and the shift over spring-forward lasts 23 h',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-03-27T09:00',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-03-28T08:00Z',
      to: '2026-03-30T07:00Z',
      spans: [
        '03-28 09:00+01:00 → 03-29 09:00+02:00 bob 23h',
        '03-29 09:00+02:00 → 03-30 09:00+02:00 ann 24h',
      ],
    },
    {
      name: 'in Berlin a daily 09:00 shift over fall-back lasts 25 h',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-10-23T09:00',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-10-24T07:00Z',
      to: '2026-10-26T08:00Z',
      spans: [
        '10-24 09:00+02:00 → 10-25 09:00+01:00 bob 25h',
        '10-25 09:00+01:00 → 10-26 09:00+01:00 ann 24h',
      ],
    },
    {
      name: 'in Berlin a 02:30 hand-off, which does not exist on 2026-03-29, happens at 03:00 CEST, the first valid instant after it',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann', 'bob', 'cat'],
        start: '2026-03-27T02:30',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-03-28T01:30Z',
      to: '2026-03-31T00:30Z',
      spans: [
        '03-28 02:30+01:00 → 03-29 03:00+02:00 bob 23.5h',
        '03-29 03:00+02:00 → 03-30 02:30+02:00 cat 23.5h',
        '03-30 02:30+02:00 → 03-31 02:30+02:00 ann 24h',
      ],
    },
    {
      name: 'in Berlin a 02:30 hand-off on 2026-10-25, when 02:30 happens twice, happens once, at the first 02:30',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann', 'bob', 'cat'],
        start: '2026-10-23T02:30',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-10-24T00:30Z',
      to: '2026-10-27T01:30Z',
      spans: [
        '10-24 02:30+02:00 → 10-25 02:30+02:00 bob 24h',
        '10-25 02:30+02:00 → 10-26 02:30+01:00 cat 25h',
        '10-26 02:30+01:00 → 10-27 02:30+01:00 ann 24h',
      ],
    },
    {
      name: 'on Lord Howe Island a daily 09:00 shift over the half-hour fall-back lasts 24.5 h',
      zone: 'Australia/Lord_Howe',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-04-03T09:00',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-04-03T22:00Z',
      to: '2026-04-05T22:30Z',
      spans: [
        '04-04 09:00+11:00 → 04-05 09:00+10:30 bob 24.5h',
        '04-05 09:00+10:30 → 04-06 09:00+10:30 ann 24h',
      ],
    },
    {
      name: 'on Lord Howe Island a daily 09:00 shift over the half-hour spring-forward lasts 23.5 h',
      zone: 'Australia/Lord_Howe',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-10-02T09:00',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-10-02T22:30Z',
      to: '2026-10-04T22:00Z',
      spans: [
        '10-03 09:00+10:30 → 10-04 09:00+11:00 bob 23.5h',
        '10-04 09:00+11:00 → 10-05 09:00+11:00 ann 24h',
      ],
    },
    {
      name: 'on Lord Howe Island a 01:45 hand-off on 2026-04-05, which happens twice, happens at the first 01:45',
      zone: 'Australia/Lord_Howe',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-04-03T01:45',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-04-03T14:45Z',
      to: '2026-04-05T15:15Z',
      spans: [
        '04-04 01:45+11:00 → 04-05 01:45+11:00 bob 24h',
        '04-05 01:45+11:00 → 04-06 01:45+10:30 ann 24.5h',
      ],
    },
    {
      name: 'on Lord Howe Island a 02:15 hand-off on 2026-10-04, which does not exist, happens at 02:30 +11:00',
      zone: 'Australia/Lord_Howe',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-10-02T02:15',
        rotation: { every: 1, unit: 'day' },
      },
      from: '2026-10-02T15:45Z',
      to: '2026-10-04T15:15Z',
      spans: [
        '10-03 02:15+10:30 → 10-04 02:30+11:00 bob 23.75h',
        '10-04 02:30+11:00 → 10-05 02:15+11:00 ann 23.75h',
      ],
    },
    {
      name: 'in New York a weekly Monday 09:00 hand-off keeps its wall-clock time across spring-forward',
      zone: 'America/New_York',
      layer: {
        users: ['ann', 'bob'],
        start: '2026-03-02T09:00',
        rotation: { every: 1, unit: 'week' },
      },
      from: '2026-03-02T14:00Z',
      to: '2026-03-16T13:00Z',
      spans: [
        '03-02 09:00-05:00 → 03-09 09:00-04:00 ann 167h',
        '03-09 09:00-04:00 → 03-16 09:00-04:00 bob 168h',
      ],
    },
    {
      name: 'an hourly rotation counts elapsed hours, so its local hand-off times move by the DST shift',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann', 'bob', 'cat'],
        start: '2026-03-28T06:00',
        rotation: { every: 8, unit: 'hour' },
      },
      from: '2026-03-28T21:00Z',
      to: '2026-03-29T13:00Z',
      spans: [
        '03-28 22:00+01:00 → 03-29 07:00+02:00 cat 8h',
        '03-29 07:00+02:00 → 03-29 15:00+02:00 ann 8h',
      ],
    },
    {
      name: 'a business-hours restriction on the spring-forward Sunday still runs 09:00 to 17:00 local',
      zone: 'Europe/Berlin',
      layer: {
        users: ['ann'],
        start: '2026-03-02T00:00',
        rotation: { every: 1, unit: 'week' },
        restrictions: [{ days: ['sun'], from: '09:00', to: '17:00' }],
      },
      from: '2026-03-28T23:00Z',
      to: '2026-03-29T22:00Z',
      spans: [
        '03-29 00:00+01:00 → 03-29 09:00+02:00 nobody 8h',
        '03-29 09:00+02:00 → 03-29 17:00+02:00 ann 8h',
        '03-29 17:00+02:00 → 03-30 00:00+02:00 nobody 7h',
      ],
    },
    {
      name: 'a night window across fall-back is an hour longer',
      zone: 'Europe/Berlin',
      layer: {
        users: ['nina'],
        start: '2026-10-05T00:00',
        rotation: { every: 1, unit: 'week' },
        restrictions: [{ days: ['sat'], from: '22:00', to: '06:00' }],
      },
      from: '2026-10-24T18:00Z',
      to: '2026-10-25T07:00Z',
      spans: [
        '10-24 20:00+02:00 → 10-24 22:00+02:00 nobody 2h',
        '10-24 22:00+02:00 → 10-25 06:00+01:00 nina 9h',
        '10-25 06:00+01:00 → 10-25 08:00+01:00 nobody 2h',
      ],
    },
  ])('$name', ({ zone, layer, from, to, spans }) => {
    const schedule = scheduleSchema.parse({
      id: 'dst',
      timeZone: zone,
      layers: [{ id: 'layer', ...layer }],
    })
    expect(finalSchedule(schedule, utc(from), utc(to)).map((s) => render(s, zone))).toEqual(spans)
  })

  it.each([
    {
      name: 'during the first 02:15 of 2026-10-25 Berlin time',
      at: '2026-10-25T02:15+02:00',
      user: 'ann',
    },
    {
      name: 'during the second 02:15 of 2026-10-25 Berlin time',
      at: '2026-10-25T02:15+01:00',
      user: 'bob',
    },
  ])('who is on call $name follows the real instant, not the wall clock', ({ at, user }) => {
    const schedule = scheduleSchema.parse({
      id: 'dst',
      timeZone: 'Europe/Berlin',
      layers: [
        {
          id: 'hours',
          users: ['ann', 'bob'],
          start: '2026-10-25T00:00',
          rotation: { every: 1, unit: 'hour' },
        },
      ],
    })
    expect(whoIsOnCall(schedule, Date.parse(at)).map((shift) => shift.user)).toEqual([user])
  })
})

/** The 2026 and 2027 DST changes the properties are run around, checked below against luxon. */
const transitions: Record<string, string[]> = {
  'Europe/Berlin': [
    '2026-03-29T01:00Z',
    '2026-10-25T01:00Z',
    '2027-03-28T01:00Z',
    '2027-10-31T01:00Z',
  ],
  'America/New_York': [
    '2026-03-08T07:00Z',
    '2026-11-01T06:00Z',
    '2027-03-14T07:00Z',
    '2027-11-07T06:00Z',
  ],
  'Australia/Lord_Howe': [
    '2026-04-04T15:00Z',
    '2026-10-03T15:30Z',
    '2027-04-03T15:00Z',
    '2027-10-02T15:30Z',
  ],
}
const zones = Object.keys(transitions)

const offsetAt = (zone: string, t: Instant) => DateTime.fromMillis(t, { zone }).offset

describe('the DST changes the properties run around', () => {
  it.each(zones.flatMap((zone) => (transitions[zone] ?? []).map((at) => ({ zone, at }))))(
    '$zone changes its offset at $at',
    ({ zone, at }) => {
      expect(offsetAt(zone, utc(at) - 1)).not.toBe(offsetAt(zone, utc(at)))
    },
  )
})

/** The wall-clock reading of an instant as ms on a UTC calendar, computed by luxon. */
function wallOf(zone: string, t: Instant): number {
  const local = DateTime.fromMillis(t, { zone })
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second)
}

/**
 * Whether `t` is the first instant whose wall clock reads `time` (HH:mm) or later on its local
 * day: exactly `time`, or the end of a DST jump over it, and not the repeat of a fall-back.
 */
function isFirstInstantAtOrAfter(zone: string, t: Instant, time: string): boolean {
  const local = DateTime.fromMillis(t, { zone })
  const [h, m] = time.split(':').map(Number)
  const target = Date.UTC(local.year, local.month - 1, local.day, h, m)
  const reading = wallOf(zone, t)
  if (reading < target || reading - target > hour) return false
  if (reading !== target && offsetAt(zone, t - 1) === offsetAt(zone, t)) return false
  // Any earlier instant up to an hour before must read less, or `t` is a second occurrence.
  return [1, 15 * 60_000, 30 * 60_000, hour].every((back) => wallOf(zone, t - back) < target)
}

const clockTime = fc.oneof(
  fc.constantFrom('00:00', '01:30', '01:45', '02:00', '02:15', '02:30', '02:59', '03:00', '09:00'),
  fc
    .record({ h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) })
    .map(({ h, m }) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
)

/** A calendar (day or week) layer starting before the range, and a range near a DST change. */
const calendarScenario = fc
  .record({
    zone: fc.constantFrom(...zones),
    transition: fc.integer({ min: 0, max: 3 }),
    users: fc.uniqueArray(fc.constantFrom('ann', 'bob', 'cat', 'dan', 'eve'), {
      minLength: 1,
      maxLength: 5,
    }),
    unit: fc.constantFrom('day' as const, 'week' as const),
    every: fc.integer({ min: 1, max: 3 }),
    startTime: clockTime,
    handoffTime: fc.option(clockTime, { nil: undefined }),
    startDaysBefore: fc.integer({ min: 1, max: 40 }),
    fromBefore: fc.integer({ min: 0, max: 10 * day }),
    length: fc.integer({ min: hour, max: 25 * day }),
  })
  .map((s) => {
    const from = utc(transitions[s.zone]?.[s.transition] ?? '') - s.fromBefore
    const startDate = DateTime.fromMillis(from, { zone: s.zone }).minus({ days: s.startDaysBefore })
    const layer = {
      id: 'rota',
      users: s.users,
      start: `${startDate.toFormat('yyyy-MM-dd')}T${s.startTime}`,
      rotation: { every: s.every, unit: s.unit },
      ...(s.handoffTime === undefined ? {} : { handoffTime: s.handoffTime }),
    }
    const schedule = scheduleSchema.parse({ id: 'prop', timeZone: s.zone, layers: [layer] })
    return { ...s, schedule, from, to: from + s.length, handoff: s.handoffTime ?? s.startTime }
  })

const runs = { numRuns: 300 }

describe('finalSchedule properties around DST changes in Berlin, New York and Lord Howe', () => {
  it('every hand-off of a calendar rotation is at its wall-clock time, or the first instant after it that exists', () => {
    fc.assert(
      fc.property(calendarScenario, ({ schedule, from, to, zone, handoff, unit, every }) => {
        const spans = finalSchedule(schedule, from, to)
        const handoffs = spans.slice(1).map((span) => span.start)
        for (const t of handoffs) expect(isFirstInstantAtOrAfter(zone, t, handoff)).toBe(true)
        const stepDays = every * (unit === 'week' ? 7 : 1)
        for (let i = 1; i < handoffs.length; i++) {
          const days = DateTime.fromMillis(handoffs[i] as Instant, { zone })
            .startOf('day')
            .diff(
              DateTime.fromMillis(handoffs[i - 1] as Instant, { zone }).startOf('day'),
              'days',
            ).days
          expect(Math.round(days)).toBe(stepDays)
        }
      }),
      runs,
    )
  })

  it('shifts tile the range with no overlap and no gap when there are no restrictions', () => {
    fc.assert(
      fc.property(calendarScenario, ({ schedule, from, to }) => {
        const spans = finalSchedule(schedule, from, to)
        expect(spans[0]?.start).toBe(from)
        expect(spans.at(-1)?.end).toBe(to)
        for (const [i, span] of spans.entries()) {
          expect(span.user).toBeDefined()
          expect(span.end).toBeGreaterThan(span.start)
          if (i > 0) expect(span.start).toBe(spans[i - 1]?.end)
        }
      }),
      runs,
    )
  })

  it('consecutive shifts follow the rotation order', () => {
    fc.assert(
      fc.property(calendarScenario, ({ schedule, from, to, users }) => {
        const rotation: string[] = users
        const order = finalSchedule(schedule, from, to).map((span) =>
          rotation.indexOf(span.user ?? ''),
        )
        for (let i = 1; i < order.length; i++) {
          expect(order[i]).toBe(((order[i - 1] as number) + 1) % users.length)
        }
      }),
      runs,
    )
  })

  const restriction = fc.record({
    days: fc.uniqueArray(fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'), {
      minLength: 1,
      maxLength: 7,
    }),
    from: clockTime,
    to: clockTime,
  })

  /** One or two layers of any unit, maybe restricted, maybe with overrides: anything goes. */
  const anyScenario = fc
    .record({
      base: calendarScenario,
      upper: fc.option(
        fc.record({
          users: fc.uniqueArray(fc.constantFrom('nick', 'nora', 'ann'), {
            minLength: 0,
            maxLength: 3,
          }),
          unit: fc.constantFrom('hour' as const, 'day' as const, 'week' as const),
          every: fc.integer({ min: 1, max: 12 }),
          startHoursBefore: fc.integer({ min: 0, max: 24 * 30 }),
          restrictions: fc.array(restriction, { maxLength: 2 }),
        }),
        { nil: undefined },
      ),
      overrides: fc.array(
        fc.record({
          user: fc.constantFrom('zoe', 'ann', 'yan'),
          offset: fc.integer({ min: -2 * day, max: 25 * day }),
          length: fc.integer({ min: 60_000, max: 3 * day }),
        }),
        { maxLength: 3 },
      ),
      probes: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
        minLength: 1,
        maxLength: 5,
      }),
    })
    .map(({ base, upper, overrides, probes }) => {
      const layers: LayerInput[] = [...base.schedule.layers]
      if (upper !== undefined) {
        const start = DateTime.fromMillis(base.from - upper.startHoursBefore * hour, {
          zone: base.zone,
        })
        layers.push({
          id: 'upper',
          users: upper.users,
          start: start.toFormat("yyyy-MM-dd'T'HH:mm"),
          rotation: { every: upper.every, unit: upper.unit },
          restrictions: upper.restrictions,
        })
      }
      const schedule = scheduleSchema.parse({
        id: 'prop',
        timeZone: base.zone,
        layers,
        overrides: overrides.map((o) => ({
          user: o.user,
          start: base.from + o.offset,
          end: base.from + o.offset + o.length,
        })),
      })
      const probeTimes = probes.map((p) => base.from + Math.floor(p * (base.to - base.from)))
      return { schedule, from: base.from, to: base.to, probeTimes }
    })

  it('whoIsOnCall at any instant agrees with the final schedule span containing it', () => {
    fc.assert(
      fc.property(anyScenario, ({ schedule, from, to, probeTimes }) => {
        const spans = finalSchedule(schedule, from, to)
        for (const t of probeTimes) {
          const span = spans.find((s) => s.start <= t && t < s.end)
          expect(span).toBeDefined()
          if (span === undefined) continue
          const now = whoIsOnCall(schedule, t)
          if (span.user === undefined) {
            expect(now).toEqual([])
            continue
          }
          expect(now).toHaveLength(1)
          const [shift] = now
          expect({ user: shift?.user, source: shift?.source }).toEqual({
            user: span.user,
            source: span.source,
          })
          // A span cut by the range is only part of the shift whoIsOnCall sees.
          if (span.start > from) expect(shift?.start).toBe(span.start)
          else expect(shift?.start).toBeLessThanOrEqual(span.start)
          if (span.end < to) expect(shift?.end).toBe(span.end)
          else expect(shift?.end).toBeGreaterThanOrEqual(span.end)
        }
      }),
      { numRuns: 200 },
    )
  })
})

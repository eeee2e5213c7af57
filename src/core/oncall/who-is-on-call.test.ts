import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import { scheduleSchema } from './schedule-schema.js'
import { whoIsOnCall } from './who-is-on-call.js'

const zone = 'Europe/Berlin'
const at = (local: string): Instant => DateTime.fromISO(local, { zone }).toMillis()
const wall = (instant: Instant) =>
  DateTime.fromMillis(instant, { zone }).toFormat("yyyy-MM-dd'T'HH:mm")

const schedule = scheduleSchema.parse({
  id: 'platform',
  timeZone: zone,
  layers: [
    {
      id: 'day',
      users: ['ann', 'bob'],
      start: '2026-11-02T09:00',
      rotation: { every: 1, unit: 'day' },
      restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '00:00', to: '00:00' }],
    },
  ],
  overrides: [{ user: 'zoe', start: at('2026-11-03T20:00'), end: at('2026-11-04T11:00') }],
})

describe('whoIsOnCall', () => {
  it.each([
    {
      name: 'in the middle of a shift, the user with the whole shift',
      at: '2026-11-02T15:00',
      expected: [
        { user: 'ann', start: '2026-11-02T09:00', end: '2026-11-03T09:00', source: 'day' },
      ],
    },
    {
      name: 'at the instant of a hand-off, the incoming user',
      at: '2026-11-03T09:00',
      expected: [
        { user: 'bob', start: '2026-11-03T09:00', end: '2026-11-03T20:00', source: 'day' },
      ],
    },
    {
      name: 'during an override, the override',
      at: '2026-11-04T10:59',
      expected: [
        { user: 'zoe', start: '2026-11-03T20:00', end: '2026-11-04T11:00', source: 'override' },
      ],
    },
    {
      name: 'right at the end of an override, the layer again',
      at: '2026-11-04T11:00',
      expected: [
        { user: 'ann', start: '2026-11-04T11:00', end: '2026-11-05T09:00', source: 'day' },
      ],
    },
    {
      name: 'on a Friday, the shift cut where the weekday restriction ends',
      at: '2026-11-06T12:00',
      expected: [
        { user: 'ann', start: '2026-11-06T09:00', end: '2026-11-07T00:00', source: 'day' },
      ],
    },
    { name: 'on a weekend outside the restriction, nobody', at: '2026-11-07T12:00', expected: [] },
    { name: 'before the layer starts, nobody', at: '2026-11-02T08:59', expected: [] },
  ])('$name', ({ at: when, expected }) => {
    const shifts = whoIsOnCall(schedule, at(when)).map((shift) => ({
      user: shift.user,
      start: wall(shift.start),
      end: wall(shift.end),
      source: shift.source.kind === 'layer' ? shift.source.layerId : shift.source.kind,
    }))
    expect(shifts).toEqual(expected)
  })

  it('cuts a shift that never ends a leap year after the instant asked about', () => {
    const alone = scheduleSchema.parse({
      id: 'solo',
      timeZone: zone,
      layers: [
        {
          id: 'only',
          users: ['ann'],
          start: '2026-11-02T09:00',
          rotation: { every: 1, unit: 'week' },
        },
      ],
    })
    const when = at('2027-06-01T12:00')
    expect(whoIsOnCall(alone, when)).toEqual([
      {
        user: 'ann',
        start: at('2026-11-02T09:00'),
        end: when + 366 * 86_400_000,
        source: { kind: 'layer', layerId: 'only' },
      },
    ])
  })
})

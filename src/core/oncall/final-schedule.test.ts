import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import { finalSchedule, type OnCallShift } from './final-schedule.js'
import { scheduleSchema, type ScheduleInput } from './schedule-schema.js'

const zone = 'Europe/Berlin'

/** An instant from a local time in Berlin; November 2026 is all CET (+01:00). */
const at = (local: string): Instant => DateTime.fromISO(local, { zone }).toMillis()

const wall = (instant: Instant): string =>
  DateTime.fromMillis(instant, { zone }).toFormat('MM-dd HH:mm')

/** A span as one readable line, `11-02 09:00 → 11-03 09:00 ann (layer day)`. */
function render(span: OnCallShift): string {
  const who =
    span.user === undefined
      ? 'nobody'
      : span.source.kind === 'layer'
        ? `${span.user} (layer ${span.source.layerId})`
        : `${span.user} (override)`
  return `${wall(span.start)} → ${wall(span.end)} ${who}`
}

type LayerInput = NonNullable<ScheduleInput['layers']>[number]

const daily = (id: string, users: string[], start: string, extra: Partial<LayerInput> = {}) => ({
  id,
  users,
  start,
  rotation: { every: 1, unit: 'day' as const },
  ...extra,
})

interface Case {
  name: string
  layers: LayerInput[]
  overrides?: ScheduleInput['overrides']
  from: string
  to: string
  spans: string[]
}

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const
const everyDay = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

describe('finalSchedule', () => {
  it.each<Case>([
    {
      name: 'a daily rotation hands off at the start time every day, in rotation order',
      layers: [daily('day', ['ann', 'bob', 'cat'], '2026-11-02T09:00')],
      from: '2026-11-02T09:00',
      to: '2026-11-06T09:00',
      spans: [
        '11-02 09:00 → 11-03 09:00 ann (layer day)',
        '11-03 09:00 → 11-04 09:00 bob (layer day)',
        '11-04 09:00 → 11-05 09:00 cat (layer day)',
        '11-05 09:00 → 11-06 09:00 ann (layer day)',
      ],
    },
    {
      name: 'a range that starts and ends mid-shift is clipped to the range',
      layers: [daily('day', ['ann', 'bob', 'cat'], '2026-11-02T09:00')],
      from: '2026-11-03T12:00',
      to: '2026-11-05T00:00',
      spans: [
        '11-03 12:00 → 11-04 09:00 bob (layer day)',
        '11-04 09:00 → 11-05 00:00 cat (layer day)',
      ],
    },
    {
      name: 'a rotation every two days keeps each user for two calendar days',
      layers: [
        {
          id: 'duo',
          users: ['ann', 'bob'],
          start: '2026-11-02T08:00',
          rotation: { every: 2, unit: 'day' },
        },
      ],
      from: '2026-11-02T08:00',
      to: '2026-11-08T08:00',
      spans: [
        '11-02 08:00 → 11-04 08:00 ann (layer duo)',
        '11-04 08:00 → 11-06 08:00 bob (layer duo)',
        '11-06 08:00 → 11-08 08:00 ann (layer duo)',
      ],
    },
    {
      name: 'a weekly rotation hands off at its hand-off time, after a first shift from the start',
      layers: [
        {
          id: 'week',
          users: ['ann', 'bob', 'cat'],
          start: '2026-11-02T00:00',
          rotation: { every: 1, unit: 'week' },
          handoffTime: '10:00',
        },
      ],
      from: '2026-11-02T00:00',
      to: '2026-11-23T12:00',
      spans: [
        '11-02 00:00 → 11-09 10:00 ann (layer week)',
        '11-09 10:00 → 11-16 10:00 bob (layer week)',
        '11-16 10:00 → 11-23 10:00 cat (layer week)',
        '11-23 10:00 → 11-23 12:00 ann (layer week)',
      ],
    },
    {
      name: 'an hourly rotation hands off every N elapsed hours',
      layers: [
        {
          id: 'shift',
          users: ['ann', 'bob', 'cat'],
          start: '2026-11-02T06:00',
          rotation: { every: 8, unit: 'hour' },
        },
      ],
      from: '2026-11-02T06:00',
      to: '2026-11-03T14:00',
      spans: [
        '11-02 06:00 → 11-02 14:00 ann (layer shift)',
        '11-02 14:00 → 11-02 22:00 bob (layer shift)',
        '11-02 22:00 → 11-03 06:00 cat (layer shift)',
        '11-03 06:00 → 11-03 14:00 ann (layer shift)',
      ],
    },
    {
      name: 'a layer restricted to business hours has nobody on evenings and weekends',
      layers: [
        daily('office', ['ann', 'bob'], '2026-11-02T09:00', {
          restrictions: [{ days: [...weekdays], from: '09:00', to: '17:00' }],
        }),
      ],
      from: '2026-11-06T00:00',
      to: '2026-11-10T00:00',
      spans: [
        '11-06 00:00 → 11-06 09:00 nobody',
        '11-06 09:00 → 11-06 17:00 ann (layer office)',
        '11-06 17:00 → 11-09 09:00 nobody',
        '11-09 09:00 → 11-09 17:00 bob (layer office)',
        '11-09 17:00 → 11-10 00:00 nobody',
      ],
    },
    {
      name: 'a restriction window whose end is before its start runs past midnight',
      layers: [
        {
          id: 'friday-night',
          users: ['nina'],
          start: '2026-11-02T00:00',
          rotation: { every: 1, unit: 'week' },
          restrictions: [{ days: ['fri'], from: '22:00', to: '06:00' }],
        },
      ],
      from: '2026-11-06T00:00',
      to: '2026-11-08T00:00',
      spans: [
        '11-06 00:00 → 11-06 22:00 nobody',
        '11-06 22:00 → 11-07 06:00 nina (layer friday-night)',
        '11-07 06:00 → 11-08 00:00 nobody',
      ],
    },
    {
      name: 'a restriction from 00:00 to 00:00 covers whole days',
      layers: [
        {
          id: 'weekend',
          users: ['wes'],
          start: '2026-11-02T00:00',
          rotation: { every: 1, unit: 'week' },
          restrictions: [{ days: ['sat', 'sun'], from: '00:00', to: '00:00' }],
        },
      ],
      from: '2026-11-06T12:00',
      to: '2026-11-09T12:00',
      spans: [
        '11-06 12:00 → 11-07 00:00 nobody',
        '11-07 00:00 → 11-09 00:00 wes (layer weekend)',
        '11-09 00:00 → 11-09 12:00 nobody',
      ],
    },
    {
      name: 'an upper layer that covers only nights wins there and lets the lower one through by day',
      layers: [
        daily('day', ['ann', 'bob'], '2026-11-02T09:00'),
        daily('night', ['nick', 'nora'], '2026-11-02T18:00', {
          restrictions: [{ days: [...everyDay], from: '18:00', to: '08:00' }],
        }),
      ],
      from: '2026-11-02T09:00',
      to: '2026-11-04T12:00',
      spans: [
        '11-02 09:00 → 11-02 18:00 ann (layer day)',
        '11-02 18:00 → 11-03 08:00 nick (layer night)',
        '11-03 08:00 → 11-03 09:00 ann (layer day)',
        '11-03 09:00 → 11-03 18:00 bob (layer day)',
        '11-03 18:00 → 11-04 08:00 nora (layer night)',
        '11-04 08:00 → 11-04 09:00 bob (layer day)',
        '11-04 09:00 → 11-04 12:00 ann (layer day)',
      ],
    },
    {
      name: 'an override that spans a hand-off wins over both shifts it covers',
      layers: [daily('day', ['ann', 'bob'], '2026-11-02T09:00')],
      overrides: [{ user: 'zoe', start: '2026-11-02T20:00+01:00', end: '2026-11-03T11:00+01:00' }],
      from: '2026-11-02T09:00',
      to: '2026-11-04T09:00',
      spans: [
        '11-02 09:00 → 11-02 20:00 ann (layer day)',
        '11-02 20:00 → 11-03 11:00 zoe (override)',
        '11-03 11:00 → 11-04 09:00 bob (layer day)',
      ],
    },
    {
      name: 'where overrides overlap, the later one in the list wins',
      layers: [daily('day', ['ann'], '2026-11-02T09:00')],
      overrides: [
        { user: 'zoe', start: at('2026-11-02T10:00'), end: at('2026-11-02T14:00') },
        { user: 'yan', start: at('2026-11-02T12:00'), end: at('2026-11-02T13:00') },
      ],
      from: '2026-11-02T09:00',
      to: '2026-11-02T15:00',
      spans: [
        '11-02 09:00 → 11-02 10:00 ann (layer day)',
        '11-02 10:00 → 11-02 12:00 zoe (override)',
        '11-02 12:00 → 11-02 13:00 yan (override)',
        '11-02 13:00 → 11-02 14:00 zoe (override)',
        '11-02 14:00 → 11-02 15:00 ann (layer day)',
      ],
    },
    {
      name: 'an override for the user already on call shows as its own span',
      layers: [daily('day', ['ann', 'bob'], '2026-11-02T09:00')],
      overrides: [{ user: 'ann', start: at('2026-11-02T12:00'), end: at('2026-11-02T13:00') }],
      from: '2026-11-02T09:00',
      to: '2026-11-02T15:00',
      spans: [
        '11-02 09:00 → 11-02 12:00 ann (layer day)',
        '11-02 12:00 → 11-02 13:00 ann (override)',
        '11-02 13:00 → 11-02 15:00 ann (layer day)',
      ],
    },
    {
      name: 'an empty upper layer lets the layer below through',
      layers: [
        daily('day', ['ann', 'bob'], '2026-11-02T09:00'),
        daily('new', [], '2026-11-02T09:00'),
      ],
      from: '2026-11-02T09:00',
      to: '2026-11-03T12:00',
      spans: [
        '11-02 09:00 → 11-03 09:00 ann (layer day)',
        '11-03 09:00 → 11-03 12:00 bob (layer day)',
      ],
    },
    {
      name: 'a schedule whose only layer is empty is one gap',
      layers: [daily('new', [], '2026-11-02T09:00')],
      from: '2026-11-02T09:00',
      to: '2026-11-03T12:00',
      spans: ['11-02 09:00 → 11-03 12:00 nobody'],
    },
    {
      name: 'before a layer starts there is nobody',
      layers: [daily('day', ['ann', 'bob'], '2026-11-03T09:00')],
      from: '2026-11-02T09:00',
      to: '2026-11-04T12:00',
      spans: [
        '11-02 09:00 → 11-03 09:00 nobody',
        '11-03 09:00 → 11-04 09:00 ann (layer day)',
        '11-04 09:00 → 11-04 12:00 bob (layer day)',
      ],
    },
    {
      name: 'a user listed twice in a row stays on call as one span',
      layers: [daily('day', ['ann', 'ann', 'bob'], '2026-11-02T09:00')],
      from: '2026-11-02T09:00',
      to: '2026-11-05T09:00',
      spans: [
        '11-02 09:00 → 11-04 09:00 ann (layer day)',
        '11-04 09:00 → 11-05 09:00 bob (layer day)',
      ],
    },
    {
      name: 'overrides outside the range are ignored',
      layers: [daily('day', ['ann'], '2026-11-02T09:00')],
      overrides: [
        { user: 'zoe', start: at('2026-11-01T00:00'), end: at('2026-11-02T09:00') },
        { user: 'zoe', start: at('2026-11-02T12:00'), end: at('2026-11-02T13:00') },
      ],
      from: '2026-11-02T09:00',
      to: '2026-11-02T12:00',
      spans: ['11-02 09:00 → 11-02 12:00 ann (layer day)'],
    },
  ])('$name', ({ layers, overrides, from, to, spans }) => {
    const schedule = scheduleSchema.parse({ id: 'platform', timeZone: zone, layers, overrides })
    expect(finalSchedule(schedule, at(from), at(to)).map(render)).toEqual(spans)
  })

  it.each([
    { name: 'an empty range has no spans', from: '2026-11-02T09:00', to: '2026-11-02T09:00' },
    { name: 'a reversed range has no spans', from: '2026-11-03T09:00', to: '2026-11-02T09:00' },
  ])('$name', ({ from, to }) => {
    const schedule = scheduleSchema.parse({
      id: 'platform',
      timeZone: zone,
      layers: [daily('day', ['ann'], '2026-11-02T09:00')],
    })
    expect(finalSchedule(schedule, at(from), at(to))).toEqual([])
  })
})

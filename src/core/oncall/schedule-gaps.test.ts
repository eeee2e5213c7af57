import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import { scheduleGaps } from './schedule-gaps.js'
import { scheduleSchema, type ScheduleInput } from './schedule-schema.js'

const zone = 'Europe/Berlin'
const at = (local: string): Instant => DateTime.fromISO(local, { zone }).toMillis()
const wall = (instant: Instant) => DateTime.fromMillis(instant, { zone }).toFormat('MM-dd HH:mm')

const office: NonNullable<ScheduleInput['layers']>[number] = {
  id: 'office',
  users: ['ann', 'bob'],
  start: '2026-11-02T09:00',
  rotation: { every: 1, unit: 'day' },
  restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
}

describe('scheduleGaps', () => {
  it.each<{ name: string; schedule: Partial<ScheduleInput>; gaps: string[] }>([
    {
      name: 'business-hours coverage leaves nights and the weekend uncovered',
      schedule: {
        layers: [office],
      },
      gaps: [
        '11-05 00:00 → 11-05 09:00',
        '11-05 17:00 → 11-06 09:00',
        '11-06 17:00 → 11-09 09:00',
        '11-09 17:00 → 11-10 00:00',
      ],
    },
    {
      name: 'an override closes part of a gap',
      schedule: {
        layers: [office],
        overrides: [{ user: 'zoe', start: at('2026-11-07T00:00'), end: at('2026-11-09T00:00') }],
      },
      gaps: [
        '11-05 00:00 → 11-05 09:00',
        '11-05 17:00 → 11-06 09:00',
        '11-06 17:00 → 11-07 00:00',
        '11-09 00:00 → 11-09 09:00',
        '11-09 17:00 → 11-10 00:00',
      ],
    },
    {
      name: 'a lower layer without restrictions leaves no gap',
      schedule: {
        layers: [
          {
            id: 'base',
            users: ['ops'],
            start: '2026-11-01T00:00',
            rotation: { every: 1, unit: 'week' },
          },
          office,
        ],
      },
      gaps: [],
    },
    {
      name: 'a schedule with no layers is one gap',
      schedule: {},
      gaps: ['11-05 00:00 → 11-10 00:00'],
    },
  ])('$name', ({ schedule, gaps }) => {
    const parsed = scheduleSchema.parse({ id: 'platform', timeZone: zone, ...schedule })
    const found = scheduleGaps(parsed, at('2026-11-05T00:00'), at('2026-11-10T00:00'))
    expect(found.map((gap) => `${wall(gap.start)} → ${wall(gap.end)}`)).toEqual(gaps)
  })
})

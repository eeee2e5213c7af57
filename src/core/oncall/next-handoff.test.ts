import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import { nextHandoff } from './next-handoff.js'
import { scheduleSchema, type ScheduleInput } from './schedule-schema.js'

const zone = 'Europe/Berlin'
const at = (local: string): Instant => DateTime.fromISO(local, { zone }).toMillis()
const wall = (instant: Instant | undefined) =>
  instant === undefined
    ? undefined
    : DateTime.fromMillis(instant, { zone }).toFormat("yyyy-MM-dd'T'HH:mmZZ")

const daily = {
  id: 'day',
  users: ['ann', 'bob'],
  start: '2026-11-02T09:00',
  rotation: { every: 1, unit: 'day' as const },
}

describe('nextHandoff', () => {
  it.each<{
    name: string
    schedule: Partial<ScheduleInput>
    after: string
    within?: number
    next: string | undefined
  }>([
    {
      name: 'a daily rotation hands off at the next 09:00',
      schedule: { layers: [daily] },
      after: '2026-11-02T15:00',
      next: '2026-11-03T09:00+01:00',
    },
    {
      name: 'asked exactly at a hand-off, it is the one after',
      schedule: { layers: [daily] },
      after: '2026-11-03T09:00',
      next: '2026-11-04T09:00+01:00',
    },
    {
      name: 'before the layer starts, the start is the first hand-off',
      schedule: { layers: [daily] },
      after: '2026-11-01T00:00',
      next: '2026-11-02T09:00+01:00',
    },
    {
      name: 'an override starting before the next rotation hand-off comes first',
      schedule: {
        layers: [daily],
        overrides: [{ user: 'zoe', start: at('2026-11-02T20:00'), end: at('2026-11-03T11:00') }],
      },
      after: '2026-11-02T15:00',
      next: '2026-11-02T20:00+01:00',
    },
    {
      name: 'an override ending after the rotation hand-off hands off at its end',
      schedule: {
        layers: [daily],
        overrides: [{ user: 'zoe', start: at('2026-11-02T20:00'), end: at('2026-11-03T11:00') }],
      },
      after: '2026-11-02T21:00',
      next: '2026-11-03T11:00+01:00',
    },
    {
      name: 'an override for the user already on call is no hand-off',
      schedule: {
        layers: [daily],
        overrides: [{ user: 'ann', start: at('2026-11-02T20:00'), end: at('2026-11-02T22:00') }],
      },
      after: '2026-11-02T15:00',
      next: '2026-11-03T09:00+01:00',
    },
    {
      name: 'a user listed twice in a row keeps the pager over the hand-off between the two turns',
      schedule: { layers: [{ ...daily, users: ['ann', 'ann', 'bob'] }] },
      after: '2026-11-02T15:00',
      next: '2026-11-04T09:00+01:00',
    },
    {
      name: 'the end of a restriction window hands off to nobody',
      schedule: {
        layers: [
          {
            ...daily,
            users: ['ann'],
            restrictions: [{ days: ['mon'], from: '09:00', to: '17:00' }],
          },
        ],
      },
      after: '2026-11-02T15:00',
      next: '2026-11-02T17:00+01:00',
    },
    {
      name: 'a 02:30 hand-off on the spring-forward day is at 03:00 CEST',
      schedule: { layers: [{ ...daily, start: '2026-03-20T02:30' }] },
      after: '2026-03-28T12:00',
      next: '2026-03-29T03:00+02:00',
    },
    {
      name: 'a single user without restrictions never hands off',
      schedule: { layers: [{ ...daily, users: ['ann'] }] },
      after: '2026-11-02T15:00',
      next: undefined,
    },
    {
      name: 'a hand-off further away than `within` is not found',
      schedule: { layers: [{ ...daily, rotation: { every: 4, unit: 'week' } }] },
      after: '2026-11-02T15:00',
      within: 7 * 86_400_000,
      next: undefined,
    },
    {
      name: 'a schedule with no layers never hands off',
      schedule: {},
      after: '2026-11-02T15:00',
      next: undefined,
    },
  ])('$name', ({ schedule, after, within, next }) => {
    const parsed = scheduleSchema.parse({ id: 'platform', timeZone: zone, ...schedule })
    expect(wall(nextHandoff(parsed, at(after), within === undefined ? {} : { within }))).toBe(next)
  })
})

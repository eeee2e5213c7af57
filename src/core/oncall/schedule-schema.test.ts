import { describe, expect, it } from 'vitest'
import { scheduleSchema } from './schedule-schema.js'

const layer = {
  id: 'primary',
  users: ['ann', 'bob'],
  start: '2026-11-02T09:00',
  rotation: { every: 1, unit: 'week' },
}

describe('scheduleSchema', () => {
  it('accepts a schedule, defaulting missing lists and reading override times as instants', () => {
    const parsed = scheduleSchema.parse({
      id: 'platform',
      timeZone: 'Europe/Berlin',
      layers: [{ id: 'primary', start: '2026-11-02T09:00', rotation: { every: 1, unit: 'day' } }],
      overrides: [
        { user: 'zoe', start: '2026-11-02T20:00+01:00', end: 1_793_696_400_000 },
        { user: 'yan', start: '2026-11-03T08:00:00Z', end: '2026-11-03T09:00:00.000Z' },
      ],
    })
    expect(parsed).toEqual({
      id: 'platform',
      timeZone: 'Europe/Berlin',
      layers: [
        {
          id: 'primary',
          users: [],
          start: '2026-11-02T09:00',
          rotation: { every: 1, unit: 'day' },
        },
      ],
      overrides: [
        { user: 'zoe', start: Date.parse('2026-11-02T19:00Z'), end: 1_793_696_400_000 },
        {
          user: 'yan',
          start: Date.parse('2026-11-03T08:00Z'),
          end: Date.parse('2026-11-03T09:00Z'),
        },
      ],
    })
    expect(scheduleSchema.parse({ id: 'empty', timeZone: 'UTC' })).toEqual({
      id: 'empty',
      timeZone: 'UTC',
      layers: [],
      overrides: [],
    })
  })

  it.each([
    {
      name: 'an unknown time zone',
      input: { timeZone: 'Mars/Olympus_Mons' },
      path: 'timeZone',
      message:
        '`timeZone` must be an IANA time zone such as Europe/Berlin or America/New_York, got "Mars/Olympus_Mons"',
    },
    {
      name: 'an id with capitals',
      input: { id: 'Platform' },
      path: 'id',
      message:
        'ids must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, got "Platform"',
    },
    {
      name: 'a layer start with an offset',
      input: { layers: [{ ...layer, start: '2026-11-02T09:00Z' }] },
      path: 'layers.0.start',
      message:
        '`start` must be a local date-time in the schedule\'s zone without offset, such as 2026-03-23T09:00, got "2026-11-02T09:00Z"',
    },
    {
      name: 'a layer start on a day that does not exist',
      input: { layers: [{ ...layer, start: '2026-02-30T09:00' }] },
      path: 'layers.0.start',
      message:
        '`start` must be a local date-time in the schedule\'s zone without offset, such as 2026-03-23T09:00, got "2026-02-30T09:00"',
    },
    {
      name: 'a hand-off time without a leading zero',
      input: { layers: [{ ...layer, handoffTime: '9:00' }] },
      path: 'layers.0.handoffTime',
      message: '`handoffTime` must be a 24-hour local time like 09:00 or 23:30, got "9:00"',
    },
    {
      name: 'a hand-off time on an hourly rotation',
      input: { layers: [{ ...layer, rotation: { every: 8, unit: 'hour' }, handoffTime: '09:00' }] },
      path: 'layers.0.handoffTime',
      message:
        '`handoffTime` applies only to day and week rotations; remove it, or hourly rotations hand off every `every` hours from `start`',
    },
    {
      name: 'a rotation of zero units',
      input: { layers: [{ ...layer, rotation: { every: 0, unit: 'day' } }] },
      path: 'layers.0.rotation.every',
      message: '`every` must be at least 1',
    },
    {
      name: 'a restriction without days',
      input: { layers: [{ ...layer, restrictions: [{ days: [], from: '09:00', to: '17:00' }] }] },
      path: 'layers.0.restrictions.0.days',
      message: '`days` must list at least one of mon, tue, wed, thu, fri, sat, sun',
    },
    {
      name: 'a restriction ending at 24:00',
      input: {
        layers: [{ ...layer, restrictions: [{ days: ['mon'], from: '09:00', to: '24:00' }] }],
      },
      path: 'layers.0.restrictions.0.to',
      message: '`to` must be a 24-hour local time like 09:00 or 23:30, got "24:00"',
    },
    {
      name: 'two layers with one id',
      input: { layers: [layer, { ...layer, users: ['cat'] }] },
      path: 'layers.1.id',
      message: 'layer id `primary` is used twice; give each layer of a schedule its own id',
    },
    {
      name: 'an override ending before it starts',
      input: { overrides: [{ user: 'zoe', start: 2_000, end: 1_000 }] },
      path: 'overrides.0.end',
      message: '`end` must be after `start`; an override needs a positive length',
    },
    {
      name: 'an override time without an offset',
      input: { overrides: [{ user: 'zoe', start: '2026-11-02T20:00', end: 1_000 }] },
      path: 'overrides.0.start',
      message:
        '`start` must be an ISO 8601 date-time with an offset such as 2026-11-23T08:00:00Z, or epoch milliseconds, got "2026-11-02T20:00"',
    },
  ])('refuses $name, naming the field and the fix', ({ input, path, message }) => {
    const result = scheduleSchema.safeParse({ id: 'platform', timeZone: 'Europe/Berlin', ...input })
    expect(result.success).toBe(false)
    expect(
      result.error?.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    ).toContainEqual({
      path,
      message,
    })
  })

  it('can be keyed by id in a config map by leaving the id out', () => {
    const spec = scheduleSchema.omit({ id: true })
    expect(spec.parse({ timeZone: 'UTC' })).toEqual({ timeZone: 'UTC', layers: [], overrides: [] })
  })
})

import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import {
  activeMaintenance,
  isInMaintenance,
  maintenanceState,
  maintenanceWindowSchema,
  nextMaintenanceChange,
  type MaintenanceWindow,
  type MaintenanceWindowInput,
} from './maintenance.js'
import { parseMatchers, type Matcher } from './matchers.js'

function matchers(text: string): Matcher[] {
  const result = parseMatchers(text)
  if (!result.ok) throw new Error(result.reason)
  return result.matchers
}

const utc = (iso: string): Instant => Date.parse(iso)

const upgrade: MaintenanceWindow = {
  id: 'pg-upgrade',
  title: 'PostgreSQL 17 upgrade',
  matchers: matchers('service=~"db-.*"'),
  timeZone: 'Europe/Berlin',
  oneOff: { start: utc('2026-03-14T20:00Z'), end: utc('2026-03-14T23:00Z') },
}

// Sunday-night patching, 02:00–04:00 on the Berlin wall clock.
const patching: MaintenanceWindow = {
  id: 'patching',
  title: 'Weekly OS patching',
  matchers: matchers('team="ops"'),
  timeZone: 'Europe/Berlin',
  recurring: { days: ['sun'], from: '02:00', to: '04:00' },
}

// The same slots, but only during March.
const marchPatching: MaintenanceWindow = {
  ...patching,
  id: 'march-patching',
  oneOff: { start: utc('2026-03-01T00:00Z'), end: utc('2026-04-01T00:00Z') },
}

function local(at: Instant | undefined): string | undefined {
  return at === undefined
    ? undefined
    : DateTime.fromMillis(at, { zone: 'Europe/Berlin' }).toFormat('yyyy-MM-dd HH:mmZZ')
}

describe('maintenanceState', () => {
  it.each<{ name: string; window: MaintenanceWindow; at: string; state: string }>([
    {
      name: 'a one-off window ahead',
      window: upgrade,
      at: '2026-03-14T19:59Z',
      state: 'scheduled',
    },
    {
      name: 'a one-off window from its start',
      window: upgrade,
      at: '2026-03-14T20:00Z',
      state: 'active',
    },
    {
      name: 'a one-off window at its end',
      window: upgrade,
      at: '2026-03-14T23:00Z',
      state: 'completed',
    },
    {
      name: 'a weekly window in its slot',
      window: patching,
      at: '2026-03-08T01:30Z',
      state: 'active',
    },
    {
      name: 'a weekly window between slots',
      window: patching,
      at: '2026-03-09T01:30Z',
      state: 'scheduled',
    },
    {
      name: 'a bounded weekly window in a slot within its range',
      window: marchPatching,
      at: '2026-03-22T01:30Z',
      state: 'active',
    },
    {
      name: 'a bounded weekly window in a slot after its range',
      window: marchPatching,
      at: '2026-04-05T00:30Z',
      state: 'completed',
    },
    {
      name: 'a window with neither part',
      window: { ...upgrade, oneOff: undefined } as MaintenanceWindow,
      at: '2026-03-14T21:00Z',
      state: 'scheduled',
    },
  ])('$name is $state', ({ window, at, state }) => {
    expect(maintenanceState(window, utc(at))).toBe(state)
  })
})

describe('activeMaintenance', () => {
  const windows = [upgrade, patching]

  it.each<{ name: string; labels: Labels; at: string; ids: string[] }>([
    {
      name: 'an alert its matchers cover, during the window',
      labels: { service: 'db-main', team: 'dba' },
      at: '2026-03-14T21:00Z',
      ids: ['pg-upgrade'],
    },
    {
      name: 'an alert its matchers do not cover',
      labels: { service: 'web', team: 'web' },
      at: '2026-03-14T21:00Z',
      ids: [],
    },
    {
      name: 'an alert after the one-off window and outside the weekly slot',
      labels: { service: 'db-main', team: 'ops' },
      at: '2026-03-15T04:00Z',
      ids: [],
    },
    {
      name: 'an alert in the weekly slot',
      labels: { service: 'db-main', team: 'ops' },
      at: '2026-03-15T02:30Z',
      ids: ['patching'],
    },
  ])('$name', ({ labels, at, ids }) => {
    expect(activeMaintenance(windows, labels, utc(at)).map((w) => w.id)).toEqual(ids)
    expect(isInMaintenance(windows, labels, utc(at))).toBe(ids.length > 0)
  })

  it('lists every window covering the alert', () => {
    const both = {
      ...upgrade,
      oneOff: { start: utc('2026-03-15T00:00Z'), end: utc('2026-03-15T03:00Z') },
    }
    expect(
      activeMaintenance(
        [both, patching],
        { service: 'db-main', team: 'ops' },
        utc('2026-03-15T01:30Z'),
      ).map((w) => w.id),
    ).toEqual(['pg-upgrade', 'patching'])
  })
})

describe('nextMaintenanceChange', () => {
  it.each<{ name: string; window: MaintenanceWindow; after: string; next: (string | undefined)[] }>(
    [
      {
        name: 'a one-off window starts, ends, then never changes',
        window: upgrade,
        after: '2026-03-10T00:00Z',
        next: ['2026-03-14 21:00+01:00', '2026-03-15 00:00+01:00', undefined],
      },
      {
        name: 'the weekly slot on the spring-forward night starts when the clock jumps to 03:00',
        window: patching,
        after: '2026-03-28T12:00Z',
        next: ['2026-03-29 03:00+02:00', '2026-03-29 04:00+02:00', '2026-04-05 02:00+02:00'],
      },
      {
        name: 'the weekly slot on the fall-back night lasts three hours',
        window: patching,
        after: '2026-10-24T12:00Z',
        next: ['2026-10-25 02:00+02:00', '2026-10-25 04:00+01:00', '2026-11-01 02:00+01:00'],
      },
      {
        name: 'a bounded weekly window stops changing after its range',
        window: marchPatching,
        after: '2026-03-28T12:00Z',
        next: ['2026-03-29 03:00+02:00', '2026-03-29 04:00+02:00', undefined],
      },
    ],
  )('$name', ({ window, after, next }) => {
    const seen: (string | undefined)[] = []
    let at: Instant | undefined = utc(after)
    for (let i = 0; i < next.length; i++) {
      at = at === undefined ? undefined : nextMaintenanceChange(window, at)
      seen.push(local(at))
    }
    expect(seen).toEqual(next)
  })
})

describe('maintenanceWindowSchema', () => {
  const input: MaintenanceWindowInput = {
    id: 'pg-upgrade',
    title: 'PostgreSQL 17 upgrade',
    matchers: 'service=~"db-.*"',
    timeZone: 'Europe/Berlin',
    oneOff: { start: '2026-03-14T21:00', end: '2026-03-14T23:00:00Z' },
  }

  it('reads a local one-off start on the window clock and an offset end as given', () => {
    expect(maintenanceWindowSchema.parse(input)).toEqual({
      ...input,
      matchers: matchers('service=~"db-.*"'),
      oneOff: { start: utc('2026-03-14T20:00Z'), end: utc('2026-03-14T23:00Z') },
    })
  })

  it('reads a recurring window', () => {
    const { oneOff: _, ...recurringOnly } = input
    expect(
      maintenanceWindowSchema.parse({
        ...recurringOnly,
        recurring: { days: ['sun'], from: '02:00', to: '04:00' },
      }).recurring,
    ).toEqual({ days: ['sun'], from: '02:00', to: '04:00' })
  })

  it.each<{ name: string; input: MaintenanceWindowInput; path: (string | number)[]; says: string }>(
    [
      {
        name: 'neither a one-off nor a recurring part',
        input: { ...input, oneOff: undefined },
        path: [],
        says: 'maintenance window `pg-upgrade`: set `oneOff` (start and end) or `recurring`',
      },
      {
        name: 'an end before the start',
        input: { ...input, oneOff: { start: '2026-03-14T23:00', end: '2026-03-14T21:00' } },
        path: ['oneOff', 'end'],
        says: '`oneOff.end` must be after `oneOff.start`',
      },
      {
        name: 'a start that is no date',
        input: { ...input, oneOff: { start: 'Saturday night', end: '2026-03-14T21:00' } },
        path: ['oneOff', 'start'],
        says: '`oneOff.start` must be an ISO 8601 date-time (with an offset, or local to Europe/Berlin)',
      },
      {
        name: 'matchers that would cover every alert',
        input: { ...input, matchers: ['service=~".*"'] },
        path: ['matchers'],
        says: 'must include one that does not match the empty string',
      },
      {
        name: 'a day that is no weekday',
        input: { ...input, recurring: { days: ['sunday' as never], from: '02:00', to: '04:00' } },
        path: ['recurring', 'days', 0],
        says: '',
      },
      {
        name: 'an empty title',
        input: { ...input, title: '' },
        path: ['title'],
        says: '`title` must not be empty',
      },
    ],
  )('rejects $name', ({ input, path, says }) => {
    const result = maintenanceWindowSchema.safeParse(input)
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path, message: expect.stringContaining(says) }),
    ])
  })
})

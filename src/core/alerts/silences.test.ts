import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import { parseMatchers, type Matcher } from './matchers.js'
import {
  isSilenced,
  nextSilenceChange,
  silencedBy,
  silenceSchema,
  silencesExpiringSoon,
  silenceState,
  type Silence,
  type SilenceInput,
  type SilenceRecurrence,
} from './silences.js'
import { weekdays } from './time-window.js'

function matchers(text: string): Matcher[] {
  const result = parseMatchers(text)
  if (!result.ok) throw new Error(result.reason)
  return result.matchers
}

const utc = (iso: string): Instant => Date.parse(iso)
const minute = 60_000
const hour = 60 * minute

function silence(overrides: Partial<Silence> = {}): Silence {
  return {
    id: 's1',
    matchers: matchers('service="db-main"'),
    startsAt: utc('2026-03-02T10:00Z'),
    endsAt: utc('2026-03-02T12:00Z'),
    createdBy: 'ann',
    comment: 'migrating the primary',
    ...overrides,
  }
}

// Nightly backups 01:00–03:00 Berlin time on weekdays, for March only.
const nightly: SilenceRecurrence = {
  timeZone: 'Europe/Berlin',
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  from: '01:00',
  to: '03:00',
}
const backups = silence({
  id: 'backups',
  startsAt: utc('2026-03-01T00:00Z'),
  endsAt: utc('2026-04-01T00:00Z'),
  recurrence: nightly,
})

describe('silenceState', () => {
  it.each<{ name: string; silence: Silence; at: string; state: ReturnType<typeof silenceState> }>([
    { name: 'before it starts', silence: silence(), at: '2026-03-02T09:59Z', state: 'pending' },
    { name: 'at its start', silence: silence(), at: '2026-03-02T10:00Z', state: 'active' },
    {
      name: 'just before its end',
      silence: silence(),
      at: '2026-03-02T11:59:59.999Z',
      state: 'active',
    },
    { name: 'at its end', silence: silence(), at: '2026-03-02T12:00Z', state: 'expired' },
    {
      name: 'a recurring one inside a window',
      silence: backups,
      at: '2026-03-03T00:30Z',
      state: 'active',
    },
    {
      name: 'a recurring one between windows, since it will mute again',
      silence: backups,
      at: '2026-03-03T12:00Z',
      state: 'pending',
    },
    {
      name: 'a recurring one inside a window in summer time',
      silence: backups,
      at: '2026-03-31T00:30Z',
      state: 'active',
    },
    {
      name: 'a recurring one after its end',
      silence: backups,
      at: '2026-04-01T00:00Z',
      state: 'expired',
    },
    {
      name: 'a recurring one after its until, before its end',
      silence: {
        ...backups,
        recurrence: { ...nightly, until: utc('2026-03-10T00:00Z') },
      },
      at: '2026-03-12T00:30Z',
      state: 'expired',
    },
  ])('is $state $name', ({ silence, at, state }) => {
    expect(silenceState(silence, utc(at))).toBe(state)
  })
})

describe('isSilenced', () => {
  const dbAnyHost = silence({
    id: 'db',
    matchers: matchers('{service="db-main", instance=~"h.*"}'),
  })
  const warnings = silence({ id: 'warn', matchers: matchers('severity="warning"') })
  const now = utc('2026-03-02T11:00Z')

  it.each<{ name: string; labels: Labels; silences: Silence[]; at?: Instant; by: string[] }>([
    {
      name: 'an alert matching every matcher of an active silence',
      labels: { service: 'db-main', instance: 'h1', severity: 'critical' },
      silences: [dbAnyHost, warnings],
      by: ['db'],
    },
    {
      name: 'an alert matching two silences names both',
      labels: { service: 'db-main', instance: 'h1', severity: 'warning' },
      silences: [dbAnyHost, warnings],
      by: ['db', 'warn'],
    },
    {
      name: 'an alert matching only some matchers',
      labels: { service: 'db-main', instance: 'web1' },
      silences: [dbAnyHost],
      by: [],
    },
    {
      name: 'an alert matching a silence that has ended',
      labels: { severity: 'warning' },
      silences: [warnings],
      at: utc('2026-03-02T12:00Z'),
      by: [],
    },
    {
      name: 'an alert during a recurring window',
      labels: { service: 'db-main' },
      silences: [backups],
      at: utc('2026-03-04T01:59Z'),
      by: ['backups'],
    },
    {
      name: 'an alert outside the recurring window',
      labels: { service: 'db-main' },
      silences: [backups],
      at: utc('2026-03-04T02:00Z'),
      by: [],
    },
    {
      name: 'an alert on a weekend night of a weekday recurrence',
      labels: { service: 'db-main' },
      silences: [backups],
      at: utc('2026-03-07T01:00Z'),
      by: [],
    },
  ])('$name', ({ labels, silences, at, by }) => {
    expect(silencedBy(labels, silences, at ?? now).map((s) => s.id)).toEqual(by)
    expect(isSilenced(labels, silences, at ?? now)).toBe(by.length > 0)
  })
})

describe('nextSilenceChange', () => {
  it.each<{ name: string; silence: Silence; after: string; next: string | undefined }>([
    {
      name: 'a pending one starts',
      silence: silence(),
      after: '2026-03-02T08:00Z',
      next: '2026-03-02T10:00Z',
    },
    {
      name: 'an active one ends',
      silence: silence(),
      after: '2026-03-02T10:00Z',
      next: '2026-03-02T12:00Z',
    },
    {
      name: 'an expired one never changes',
      silence: silence(),
      after: '2026-03-02T12:00Z',
      next: undefined,
    },
    {
      name: 'a recurring one opens its next window',
      silence: backups,
      after: '2026-03-06T12:00Z',
      next: '2026-03-09T00:00Z',
    },
    {
      name: 'a recurring one closes its window on the summer-time clock',
      silence: backups,
      after: '2026-03-30T23:30Z',
      next: '2026-03-31T01:00Z',
    },
  ])('$name', ({ silence, after, next }) => {
    expect(nextSilenceChange(silence, utc(after))).toBe(next === undefined ? undefined : utc(next))
  })
})

describe('silencesExpiringSoon', () => {
  const now = utc('2026-03-02T11:50Z')

  it.each<{ name: string; silences: Silence[]; within: number; ids: string[] }>([
    {
      name: 'an active silence ending within the notice',
      silences: [silence()],
      within: 15 * minute,
      ids: ['s1'],
    },
    {
      name: 'an active silence ending after the notice',
      silences: [silence()],
      within: 5 * minute,
      ids: [],
    },
    {
      name: 'a silence that has not started',
      silences: [silence({ startsAt: utc('2026-03-02T11:55Z'), endsAt: utc('2026-03-02T11:58Z') })],
      within: hour,
      ids: [],
    },
    {
      name: 'several, soonest first',
      silences: [
        silence({ id: 'later', endsAt: utc('2026-03-02T12:30Z') }),
        silence({ id: 'sooner', endsAt: utc('2026-03-02T12:00Z') }),
        silence({ id: 'far', endsAt: utc('2026-03-03T12:00Z') }),
      ],
      within: hour,
      ids: ['sooner', 'later'],
    },
    {
      name: 'a recurring silence whose window closes but which mutes again tomorrow',
      silences: [{ ...backups, id: 'nightly' }],
      within: hour,
      ids: [],
    },
  ])('$name', ({ silences, within, ids }) => {
    expect(silencesExpiringSoon(silences, now, within).map((s) => s.id)).toEqual(ids)
  })

  it('warns about a recurring silence only in its last window, which its end cuts short', () => {
    // The last window opens at 01:00 CEST on April 1 (23:00Z) and `endsAt` closes it at 00:00Z.
    expect(silencesExpiringSoon([backups], utc('2026-03-31T23:30Z'), hour)).toEqual([backups])
    expect(silencesExpiringSoon([backups], utc('2026-03-31T00:30Z'), hour)).toEqual([])
  })
})

describe('silenceSchema', () => {
  const input: SilenceInput = {
    id: 'maint-42',
    matchers: ['service="db-main"', 'severity=~"warning|critical"'],
    startsAt: '2026-03-02T10:00:00Z',
    endsAt: '2026-03-02T12:00:00+01:00',
    createdBy: 'ann',
    comment: 'migrating the primary',
  }

  it('reads matchers and instants', () => {
    expect(silenceSchema.parse(input)).toEqual({
      ...input,
      matchers: matchers('{service="db-main", severity=~"warning|critical"}'),
      startsAt: utc('2026-03-02T10:00Z'),
      endsAt: utc('2026-03-02T11:00Z'),
    })
  })

  it('reads a recurrence', () => {
    const parsed = silenceSchema.parse({
      ...input,
      recurrence: {
        timeZone: 'Europe/Berlin',
        days: ['sat', 'sun'],
        from: '22:00',
        to: '06:00',
        until: 1 + utc('2026-03-02T10:00Z'),
      },
    })
    expect(parsed.recurrence).toEqual({
      timeZone: 'Europe/Berlin',
      days: ['sat', 'sun'],
      from: '22:00',
      to: '06:00',
      until: utc('2026-03-02T10:00:00.001Z'),
    })
  })

  it.each<{ name: string; change: Partial<SilenceInput>; path: (string | number)[]; says: string }>(
    [
      {
        name: 'matchers that all match the empty string',
        change: { matchers: ['team=~".*"', 'env=""'] },
        path: ['matchers'],
        says: 'silence `maint-42`: `matchers` must include one that does not match the empty string',
      },
      {
        name: 'no matchers',
        change: { matchers: [] },
        path: ['matchers'],
        says: 'does not match the empty string',
      },
      {
        name: 'an end before the start',
        change: { endsAt: '2026-03-02T09:00:00Z' },
        path: ['endsAt'],
        says: 'silence `maint-42`: `endsAt` must be after `startsAt`',
      },
      {
        name: 'a local time without an offset',
        change: { startsAt: '2026-03-02T10:00' },
        path: ['startsAt'],
        says: '`startsAt` must be an ISO 8601 date-time with an offset',
      },
      {
        name: 'an empty author',
        change: { createdBy: ' ' },
        path: ['createdBy'],
        says: '`createdBy` must not be empty',
      },
      {
        name: 'an empty comment',
        change: { comment: '' },
        path: ['comment'],
        says: '`comment` must not be empty',
      },
      {
        name: 'a bad matcher',
        change: { matchers: ['service="db"', 'job=~"("'] },
        path: ['matchers', 1],
        says: 'not a valid regular expression',
      },
      {
        name: 'an unknown zone',
        change: { recurrence: { timeZone: 'Berlin', days: ['mon'], from: '01:00', to: '02:00' } },
        path: ['recurrence', 'timeZone'],
        says: 'IANA time zone',
      },
      {
        name: 'a 12-hour time',
        change: {
          recurrence: { timeZone: 'Europe/Berlin', days: ['mon'], from: '1pm', to: '02:00' },
        },
        path: ['recurrence', 'from'],
        says: '`from` must be a 24-hour local time',
      },
      {
        name: 'a recurrence without days',
        change: { recurrence: { timeZone: 'Europe/Berlin', days: [], from: '01:00', to: '02:00' } },
        path: ['recurrence', 'days'],
        says: '`days` must list at least one',
      },
      {
        name: 'an until before the start',
        change: {
          recurrence: {
            timeZone: 'Europe/Berlin',
            days: ['mon'],
            from: '01:00',
            to: '02:00',
            until: '2026-03-01T00:00:00Z',
          },
        },
        path: ['recurrence', 'until'],
        says: '`recurrence.until` must be after `startsAt`',
      },
    ],
  )('rejects $name', ({ change, path, says }) => {
    const result = silenceSchema.safeParse({ ...input, ...change })
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path, message: expect.stringContaining(says) }),
    ])
  })
})

describe('silence properties', () => {
  const year = { min: utc('2026-01-01T00:00Z'), max: utc('2027-01-01T00:00Z') }
  const arbitrarySilence = fc
    .record({
      startsAt: fc.integer(year),
      length: fc.integer({ min: 1, max: 30 * 86_400_000 }),
      recurring: fc.option(
        fc.record({
          timeZone: fc.constantFrom('Europe/Berlin', 'America/New_York'),
          days: fc.subarray([...weekdays], { minLength: 1 }),
          from: fc.constantFrom('00:00', '01:30', '02:30', '09:00', '22:00'),
          to: fc.constantFrom('00:00', '03:00', '06:00', '17:00', '23:59'),
        }),
        { nil: undefined },
      ),
    })
    .map(({ startsAt, length, recurring }) =>
      silence({
        startsAt,
        endsAt: startsAt + length,
        ...(recurring ? { recurrence: recurring } : {}),
      }),
    )

  it('never matches outside [startsAt, endsAt)', () => {
    fc.assert(
      fc.property(arbitrarySilence, fc.integer(year), (s, at) => {
        fc.pre(at < s.startsAt || at >= s.endsAt)
        expect(isSilenced({ service: 'db-main' }, [s], at)).toBe(false)
        expect(silenceState(s, at)).not.toBe('active')
      }),
      { numRuns: 500 },
    )
  })

  it('an active one-off silence mutes its alerts, whatever else they carry', () => {
    fc.assert(
      fc.property(
        fc.integer(year),
        fc.integer({ min: 1, max: 86_400_000 }),
        fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
        (startsAt, length, extra) => {
          const s = silence({ startsAt, endsAt: startsAt + length })
          const labels = { ...extra, service: 'db-main' }
          expect(isSilenced(labels, [s], startsAt + Math.floor(length / 2))).toBe(true)
        },
      ),
    )
  })
})

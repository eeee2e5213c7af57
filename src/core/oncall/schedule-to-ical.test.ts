import { describe, expect, it } from 'vitest'
import { scheduleSchema } from './schedule-schema.js'
import { scheduleToICal } from './schedule-to-ical.js'

const utc = (iso: string) => Date.parse(iso)
const now = utc('2026-11-01T12:00:00Z')

const schedule = scheduleSchema.parse({
  id: 'platform',
  timeZone: 'Europe/Berlin',
  layers: [
    {
      id: 'primary',
      users: ['ann', 'bob'],
      start: '2026-11-02T09:00',
      rotation: { every: 1, unit: 'day' },
    },
  ],
  overrides: [{ user: 'zoe', start: '2026-11-03T20:00+01:00', end: '2026-11-04T11:00+01:00' }],
})

const lines = (ical: string) => ical.split('\r\n')
const unfold = (ical: string) => ical.replace(/\r\n /g, '')

describe('scheduleToICal', () => {
  it('writes one UTC event per shift, keeping the whole of a shift that runs past the range', () => {
    const ical = scheduleToICal(schedule, utc('2026-11-02T08:00Z'), utc('2026-11-04T08:00Z'), {
      calendarName: 'Platform on-call',
      now,
    })
    expect(ical).toBe(
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Keel//On-call schedule//EN',
        'CALSCALE:GREGORIAN',
        'METHOD:PUBLISH',
        'NAME:Platform on-call',
        'X-WR-CALNAME:Platform on-call',
        'BEGIN:VEVENT',
        'UID:oncall-platform-20261102T080000Z-1529cc18@keel',
        'DTSTAMP:20261101T120000Z',
        'DTSTART:20261102T080000Z',
        'DTEND:20261103T080000Z',
        'SUMMARY:On call: ann',
        'DESCRIPTION:Layer primary of schedule platform',
        'TRANSP:TRANSPARENT',
        'END:VEVENT',
        'BEGIN:VEVENT',
        'UID:oncall-platform-20261103T080000Z-86c6a0d4@keel',
        'DTSTAMP:20261101T120000Z',
        'DTSTART:20261103T080000Z',
        'DTEND:20261103T190000Z',
        'SUMMARY:On call: bob',
        'DESCRIPTION:Layer primary of schedule platform',
        'TRANSP:TRANSPARENT',
        'END:VEVENT',
        'BEGIN:VEVENT',
        'UID:oncall-platform-20261103T190000Z-8c7c32b9@keel',
        'DTSTAMP:20261101T120000Z',
        'DTSTART:20261103T190000Z',
        'DTEND:20261104T100000Z',
        'SUMMARY:On call: zoe',
        'DESCRIPTION:Override in schedule platform',
        'TRANSP:TRANSPARENT',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    )
  })

  it('lists only one user’s shifts when asked to', () => {
    const ical = scheduleToICal(schedule, utc('2026-11-02T08:00Z'), utc('2026-11-06T08:00Z'), {
      calendarName: 'Mine',
      user: 'bob',
      now,
    })
    expect(
      lines(ical).filter((line) => line.startsWith('DTSTART') || line.startsWith('SUMMARY')),
    ).toEqual([
      'DTSTART:20261103T080000Z',
      'SUMMARY:On call: bob',
      'DTSTART:20261105T080000Z',
      'SUMMARY:On call: bob',
    ])
  })

  it('gives a shift the same UID, start and end whatever range it is fetched with', () => {
    const event = (from: string, to: string) =>
      lines(scheduleToICal(schedule, utc(from), utc(to), { calendarName: 'x', now })).filter(
        (line) => /^(UID|DTSTART|DTEND):/.test(line),
      )
    expect(event('2026-11-02T12:00Z', '2026-11-02T13:00Z')).toEqual(
      event('2026-11-02T08:00Z', '2026-11-03T08:00Z'),
    )
  })

  it('writes a calendar without events when nobody is on call', () => {
    const empty = scheduleSchema.parse({ id: 'empty', timeZone: 'UTC' })
    expect(lines(scheduleToICal(empty, 0, 86_400_000, { calendarName: 'x', now }))).not.toContain(
      'BEGIN:VEVENT',
    )
  })

  it.each([
    {
      name: 'a long ASCII summary folds at 75 octets, continuing after one space',
      user: 'x'.repeat(80),
      folded: ['SUMMARY:On call: ' + 'x'.repeat(58), ' ' + 'x'.repeat(22)],
    },
    {
      name: 'a long summary of multi-byte characters folds between characters, never inside one',
      user: 'Jürgen-🚒-'.repeat(8),
      folded: undefined,
    },
  ])('$name', ({ user, folded }) => {
    const withUser = scheduleSchema.parse({
      id: 'platform',
      timeZone: 'UTC',
      layers: [
        {
          id: 'primary',
          users: [user],
          start: '2026-11-02T09:00',
          rotation: { every: 1, unit: 'day' },
        },
      ],
    })
    const ical = scheduleToICal(withUser, utc('2026-11-02T09:00Z'), utc('2026-11-03T09:00Z'), {
      calendarName: 'x',
      now,
    })
    const encoder = new TextEncoder()
    for (const line of lines(ical)) {
      expect(encoder.encode(line).length).toBeLessThanOrEqual(75)
      // encodeURIComponent throws on half of a surrogate pair.
      expect(() => encodeURIComponent(line)).not.toThrow()
    }
    const start = lines(ical).findIndex((line) => line.startsWith('SUMMARY:'))
    if (folded !== undefined)
      expect(lines(ical).slice(start, start + folded.length)).toEqual(folded)
    expect(lines(unfold(ical))).toContain(`SUMMARY:On call: ${user}`)
  })

  it('escapes backslashes, semicolons, commas and line breaks in text values', () => {
    const odd = scheduleSchema.parse({
      id: 'platform',
      timeZone: 'UTC',
      layers: [
        {
          id: 'primary',
          users: ['o,brien;ops\\night\nshift'],
          start: '2026-11-02T09:00',
          rotation: { every: 1, unit: 'day' },
        },
      ],
    })
    const ical = scheduleToICal(odd, utc('2026-11-02T09:00Z'), utc('2026-11-03T09:00Z'), {
      calendarName: 'DBA; nights, weekends\r\nand holidays',
      now,
    })
    expect(lines(unfold(ical))).toEqual(
      expect.arrayContaining([
        'NAME:DBA\\; nights\\, weekends\\nand holidays',
        'SUMMARY:On call: o\\,brien\\;ops\\\\night\\nshift',
      ]),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { scheduleSchema } from '../oncall/index.js'
import { escalationLevelSchema, teamSchema, type EscalationLevel } from './policy-schema.js'
import { resolveTargets } from './resolve-targets.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)

const schedules = {
  primary: scheduleSchema.parse({
    id: 'primary',
    timeZone: 'UTC',
    layers: [
      {
        id: 'weekly',
        users: ['ann', 'bob'],
        start: '2026-11-23T09:00',
        rotation: { every: 1, unit: 'week' },
      },
    ],
  }),
  office: scheduleSchema.parse({
    id: 'office',
    timeZone: 'UTC',
    layers: [
      {
        id: 'days',
        users: ['cid'],
        start: '2026-11-23T00:00',
        rotation: { every: 1, unit: 'day' },
        restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
      },
    ],
  }),
}
const teams = {
  dba: teamSchema.parse({ members: ['dee', 'ann', 'eve'] }),
  empty: teamSchema.parse({}),
}

const level = (input: unknown): EscalationLevel => {
  const parsed = escalationLevelSchema.parse(input)
  return { ...parsed, delay: parsed.delay ?? 0 } as EscalationLevel
}

describe('resolveTargets', () => {
  it.each([
    {
      name: 'a user target is that user',
      level: { targets: [{ user: 'zoe' }] },
      now: t0,
      users: ['zoe'],
      unresolved: [],
    },
    {
      name: 'a schedule target is whoever is on call then',
      level: { targets: [{ schedule: 'primary' }] },
      now: t0 + 7 * 86_400_000,
      users: ['bob'],
      unresolved: [],
    },
    {
      name: 'a schedule in a gap gives nobody, and says so',
      level: { targets: [{ schedule: 'office' }] },
      now: Date.UTC(2026, 10, 23, 20, 0),
      users: [],
      unresolved: ['nobody is on call in schedule office'],
    },
    {
      name: 'a team target is every member, in order',
      level: { targets: [{ team: 'dba' }] },
      now: t0,
      users: ['dee', 'ann', 'eve'],
      unresolved: [],
    },
    {
      name: 'someone reached by two targets is paged once',
      level: { targets: [{ schedule: 'primary' }, { team: 'dba' }, { user: 'ann' }] },
      now: t0,
      users: ['ann', 'dee', 'eve'],
      unresolved: [],
    },
    {
      name: 'an empty team and an unknown schedule are reported',
      level: { targets: [{ team: 'empty' }, { schedule: 'gone' }, { user: 'ann' }] },
      now: t0,
      users: ['ann'],
      unresolved: ['team empty has no members', 'schedule gone is not defined'],
    },
  ])('$name', ({ level: input, now, users, unresolved }) => {
    const result = resolveTargets(level(input), { schedules, teams, now })
    expect(result.users).toEqual(users)
    expect(result.unresolved.map((u) => u.reason)).toEqual(unresolved)
  })

  it.each([
    { cursor: 0, user: 'dee' },
    { cursor: 1, user: 'ann' },
    { cursor: 2, user: 'eve' },
    { cursor: 3, user: 'dee' },
    { cursor: 301, user: 'ann' },
  ])('round robin with cursor $cursor pages $user alone', ({ cursor, user }) => {
    const result = resolveTargets(level({ targets: [{ team: 'dba' }], roundRobin: true }), {
      schedules,
      teams,
      now: t0,
      roundRobinCursor: cursor,
    })
    expect(result.users).toEqual([user])
  })

  it('reports users that are not defined when the user list is given', () => {
    const result = resolveTargets(level({ targets: [{ user: 'ann' }, { user: 'ghost' }] }), {
      schedules,
      teams,
      users: { ann: { name: 'Ann', channels: [] } },
      now: t0,
    })
    expect(result.users).toEqual(['ann'])
    expect(result.unresolved.map((u) => u.reason)).toEqual([
      'user ghost is not defined under users',
    ])
  })
})

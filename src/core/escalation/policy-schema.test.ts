import { describe, expect, it } from 'vitest'
import { escalationPolicySchema, oncallConfigSchema } from './policy-schema.js'

function issuesOf(input: unknown): { path: string; message: string }[] {
  const result = oncallConfigSchema.safeParse(input)
  if (result.success) return []
  return result.error.issues.map((issue) => ({
    path: issue.path.join('.'),
    message: issue.message,
  }))
}

describe('escalationPolicySchema', () => {
  it('parses delays to milliseconds, fills defaults and normalises targets', () => {
    expect(
      escalationPolicySchema.parse({
        levels: [
          { targets: [{ schedule: 'primary' }] },
          { delay: '5m', targets: [{ user: 'ann' }, { team: 'dba' }], roundRobin: true },
        ],
        repeat: 2,
        ackTimeout: '30m',
      }),
    ).toEqual({
      levels: [
        { delay: 0, targets: [{ schedule: 'primary' }], roundRobin: false },
        { delay: 300_000, targets: [{ user: 'ann' }, { team: 'dba' }], roundRobin: true },
      ],
      repeat: 2,
      repeatDelay: 300_000,
      ackTimeout: 1_800_000,
    })
  })

  it.each([
    {
      name: 'a level after the first without a delay',
      policy: { levels: [{ targets: [{ user: 'a' }] }, { targets: [{ user: 'b' }] }] },
      path: 'levels.1.delay',
      message: /`delay` is required from the second level on/,
    },
    {
      name: 'a target naming two kinds',
      policy: { levels: [{ targets: [{ user: 'a', team: 't' }] }] },
      path: 'levels.0.targets.0',
      message: /exactly one of `user`, `schedule` or `team`/,
    },
    {
      name: 'a target naming none',
      policy: { levels: [{ targets: [{}] }] },
      path: 'levels.0.targets.0',
      message: /exactly one of/,
    },
    {
      name: 'a level without targets',
      policy: { levels: [{ targets: [] }] },
      path: 'levels.0.targets',
      message: /at least one target/,
    },
    {
      name: 'a policy without levels',
      policy: { levels: [] },
      path: 'levels',
      message: /at least one level/,
    },
    {
      name: 'a repeat above 9',
      policy: { levels: [{ targets: [{ user: 'a' }] }], repeat: 10 },
      path: 'repeat',
      message: /./,
    },
    {
      name: 'a delay that is not a duration',
      policy: { levels: [{ delay: 'soon', targets: [{ user: 'a' }] }] },
      path: 'levels.0.delay',
      message: /delay must be a duration/,
    },
  ])('refuses $name', ({ policy, path, message }) => {
    const result = escalationPolicySchema.safeParse(policy)
    expect(result.success).toBe(false)
    const issue = result.error?.issues.find((i) => i.path.join('.') === path)
    expect(issue?.message).toMatch(message)
  })
})

describe('oncallConfigSchema', () => {
  it('is empty by default', () => {
    expect(oncallConfigSchema.parse({})).toEqual({
      users: {},
      teams: {},
      schedules: {},
      escalationPolicies: {},
      routes: { match: [] },
    })
  })

  it('gives each schedule its id from the key', () => {
    const config = oncallConfigSchema.parse({
      schedules: {
        primary: {
          timeZone: 'Europe/Berlin',
          layers: [
            {
              id: 'l',
              users: ['ann'],
              start: '2026-01-05T09:00',
              rotation: { every: 1, unit: 'week' },
            },
          ],
        },
      },
    })
    expect(config.schedules.primary?.id).toBe('primary')
    expect(config.schedules.primary?.layers[0]?.users).toEqual(['ann'])
  })

  it.each([
    {
      name: 'an upper-case user id',
      input: { users: { Ann: { name: 'Ann' } } },
      path: 'users.Ann',
    },
    {
      name: 'a user without a name',
      input: { users: { ann: {} } },
      path: 'users.ann.name',
    },
    {
      name: 'a misspelt user field',
      input: { users: { ann: { name: 'Ann', chanels: [] } } },
      path: 'users.ann',
    },
    {
      name: 'a user in an unknown time zone',
      input: { users: { ann: { name: 'Ann', timeZone: 'Mars/Olympus' } } },
      path: 'users.ann.timeZone',
    },
    {
      name: 'a schedule with an id of its own',
      input: { schedules: { s: { id: 's', timeZone: 'UTC' } } },
      path: 'schedules.s',
    },
    {
      name: 'a route with a malformed matcher',
      input: { routes: { match: [{ matchers: ['severity'], escalationPolicy: 'p' }] } },
      path: 'routes.match.0.matchers.0',
    },
  ])('refuses $name', ({ input, path }) => {
    expect(issuesOf(input).map((issue) => issue.path)).toContain(path)
  })
})

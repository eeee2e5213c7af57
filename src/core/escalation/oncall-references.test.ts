import { describe, expect, it } from 'vitest'
import { oncallReferenceIssues } from './oncall-references.js'

const base = {
  users: { ann: { name: 'Ann', channels: ['pager'] }, bob: { name: 'Bob' } },
  teams: { dba: { members: ['ann', 'bob'], escalationPolicy: 'dba' } },
  schedules: {
    primary: {
      timeZone: 'UTC',
      layers: [{ id: 'l', users: ['ann', 'bob'], start: '2026-01-05T09:00' }],
      overrides: [{ user: 'bob', start: 0, end: 1 }],
    },
  },
  escalationPolicies: {
    dba: { levels: [{ targets: [{ schedule: 'primary' }, { team: 'dba' }, { user: 'bob' }] }] },
  },
  routes: { match: [{ matchers: [], escalationPolicy: 'dba' }] },
}

function withChange(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>
  let node = copy
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>
  node[path[path.length - 1] as string | number] = value
  return copy
}

describe('oncallReferenceIssues', () => {
  it('finds nothing wrong when every id is defined', () => {
    expect(oncallReferenceIssues(base, { channels: ['pager'] })).toEqual([])
  })

  it.each([
    {
      name: 'a user paged on an undefined channel',
      path: ['users', 'ann', 'channels', 0],
      value: 'sms',
      message: 'unknown channel `sms`; defined channels: pager',
    },
    {
      name: 'a team member who is not a user',
      path: ['teams', 'dba', 'members', 1],
      value: 'carl',
      message: 'unknown user `carl`; defined users: ann, bob',
    },
    {
      name: 'a team policy that does not exist',
      path: ['teams', 'dba', 'escalationPolicy'],
      value: 'ops',
      message: 'unknown escalation policy `ops`; defined escalation policies: dba',
    },
    {
      name: 'a schedule layer with an unknown user',
      path: ['schedules', 'primary', 'layers', 0, 'users', 0],
      value: 'zed',
      message: 'unknown user `zed`; defined users: ann, bob',
    },
    {
      name: 'an override for an unknown user',
      path: ['schedules', 'primary', 'overrides', 0, 'user'],
      value: 'zed',
      message: 'unknown user `zed`; defined users: ann, bob',
    },
    {
      name: 'a policy target naming an unknown schedule',
      path: ['escalationPolicies', 'dba', 'levels', 0, 'targets', 0, 'schedule'],
      value: 'secondary',
      message: 'unknown schedule `secondary`; defined schedules: primary',
    },
    {
      name: 'a policy target naming an unknown team',
      path: ['escalationPolicies', 'dba', 'levels', 0, 'targets', 1, 'team'],
      value: 'net',
      message: 'unknown team `net`; defined teams: dba',
    },
    {
      name: 'a policy target naming an unknown user',
      path: ['escalationPolicies', 'dba', 'levels', 0, 'targets', 2, 'user'],
      value: 'zed',
      message: 'unknown user `zed`; defined users: ann, bob',
    },
    {
      name: 'a route to an unknown policy',
      path: ['routes', 'match', 0, 'escalationPolicy'],
      value: 'nope',
      message: 'unknown escalation policy `nope`; defined escalation policies: dba',
    },
  ])('reports $name with its path', ({ path, value, message }) => {
    expect(oncallReferenceIssues(withChange(path, value), { channels: ['pager'] })).toEqual([
      { path, message },
    ])
  })

  it('says so when a section is empty, and tolerates malformed input', () => {
    expect(
      oncallReferenceIssues(
        { users: { ann: { name: 'A', channels: ['x', 3] } }, teams: 'nope', routes: [] },
        { channels: [] },
      ),
    ).toEqual([
      {
        path: ['users', 'ann', 'channels', 0],
        message: 'unknown channel `x`; no channels are defined under `channels`',
      },
    ])
    expect(oncallReferenceIssues(undefined, { channels: [] })).toEqual([])
  })
})

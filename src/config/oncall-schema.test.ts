import { describe, expect, it } from 'vitest'
import { parseConfigText } from './load.js'

const valid = `
channels:
  ann-phone: { type: webhook, url: "https://hooks.example.org/ann" }
  bob-mail: { type: webhook, url: "https://hooks.example.org/bob" }
users:
  ann: { name: Ann, email: ann@example.org, channels: [ann-phone], timeZone: Europe/Berlin }
  bob: { name: Bob, channels: [bob-mail] }
teams:
  dba: { members: [ann, bob], escalationPolicy: dba }
schedules:
  dba-primary:
    timeZone: Europe/Berlin
    layers:
      - id: weekly
        users: [ann, bob]
        start: "2026-11-02T09:00"
        rotation: { every: 1, unit: week }
escalationPolicies:
  dba:
    levels:
      - targets: [{ schedule: dba-primary }]
      - delay: 5m
        targets: [{ team: dba }]
        roundRobin: true
    repeat: 2
    ackTimeout: 30m
routes:
  match:
    - matchers: ['team="dba"', 'severity=~"critical|error"']
      escalationPolicy: dba
escalation:
  pollInterval: 1s
`

describe('the on-call sections of keel.yaml', () => {
  it('parses users, teams, schedules, policies, routes and escalation settings', () => {
    const result = parseConfigText(valid, { env: {} })
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const { config, raw } = result
    expect(config.users.ann).toEqual({
      name: 'Ann',
      email: 'ann@example.org',
      channels: ['ann-phone'],
      timeZone: 'Europe/Berlin',
    })
    expect(config.schedules['dba-primary']?.id).toBe('dba-primary')
    expect(config.escalationPolicies.dba?.levels[1]).toEqual({
      delay: 300_000,
      targets: [{ team: 'dba' }],
      roundRobin: true,
    })
    expect(config.escalationPolicies.dba?.ackTimeout).toBe(1_800_000)
    expect(config.routes.match[0]?.escalationPolicy).toBe('dba')
    expect(config.escalation).toEqual({ pollInterval: 1_000, ackLinkExpiry: 86_400_000 })
    // Stored as written, so `apply` compares and shows what the operator wrote.
    expect(
      (raw.escalationPolicies as Record<string, { levels: { delay?: string }[] }>).dba?.levels[1]
        ?.delay,
    ).toBe('5m')
  })

  it('reports every unknown reference with its path and line', () => {
    const text = `
channels:
  pager: { type: webhook, url: "https://hooks.example.org/p" }
users:
  ann: { name: Ann, channels: [pager, sms] }
teams:
  dba: { members: [ann, carl], escalationPolicy: nope }
schedules:
  primary:
    timeZone: UTC
    layers:
      - { id: l, users: [ann, zed], start: "2026-11-02T09:00", rotation: { every: 1, unit: day } }
escalationPolicies:
  dba:
    levels:
      - targets: [{ schedule: secondary }, { team: net }, { user: bob }]
routes:
  match:
    - { matchers: [], escalationPolicy: ops }
`
    const result = parseConfigText(text, { env: {}, file: 'keel.yaml' })
    expect(result.ok).toBe(false)
    const issues = result.ok ? [] : result.issues
    expect(issues.map((i) => [i.path, i.line, i.message])).toEqual([
      ['users.ann.channels[1]', 5, 'unknown channel `sms`; defined channels: pager'],
      ['teams.dba.members[1]', 7, 'unknown user `carl`; defined users: ann'],
      [
        'teams.dba.escalationPolicy',
        7,
        'unknown escalation policy `nope`; defined escalation policies: dba',
      ],
      ['schedules.primary.layers[0].users[1]', 12, 'unknown user `zed`; defined users: ann'],
      [
        'escalationPolicies.dba.levels[0].targets[0].schedule',
        16,
        'unknown schedule `secondary`; defined schedules: primary',
      ],
      [
        'escalationPolicies.dba.levels[0].targets[1].team',
        16,
        'unknown team `net`; defined teams: dba',
      ],
      [
        'escalationPolicies.dba.levels[0].targets[2].user',
        16,
        'unknown user `bob`; defined users: ann',
      ],
      [
        'routes.match[0].escalationPolicy',
        19,
        'unknown escalation policy `ops`; defined escalation policies: dba',
      ],
    ])
  })

  it('reports a shape error and a reference error of the same file together', () => {
    const text = `
users:
  ann: { name: Ann, channels: [nowhere] }
escalationPolicies:
  p:
    levels:
      - targets: [{ user: ann }]
      - targets: [{ user: ann }]
`
    const result = parseConfigText(text, { env: {} })
    const paths = result.ok ? [] : result.issues.map((i) => i.path)
    expect(paths).toEqual(['users.ann.channels[0]', 'escalationPolicies.p.levels[1].delay'])
  })
})

import { describe, expect, it } from 'vitest'
import {
  alertingConfigSchema,
  dependencySuppressionFor,
  receiversFor,
  routedEscalation,
  suppressionOf,
  suppressionText,
} from './alerting-config.js'
import { fingerprint } from './fingerprint.js'
import { parseMatchers } from './matchers.js'
import type { Silence } from './silences.js'

const t0 = Date.UTC(2026, 11, 7, 9, 0) // Monday 10:00 in Berlin

const config = alertingConfigSchema.parse({
  receivers: {
    page: { escalationPolicy: 'dba', dependencySuppression: false },
    chat: { channels: ['chat'] },
    both: { channels: ['chat'], escalationPolicy: 'net' },
  },
  route: {
    receiver: 'chat',
    groupWait: '20s',
    routes: [
      { matchers: ['team="dba"'], receiver: 'page', groupWait: '5s', continue: true },
      { matchers: ['team=~"dba|net"'], receiver: 'both' },
    ],
  },
  inhibitRules: [
    {
      sourceMatchers: ['severity="critical"'],
      targetMatchers: ['severity="warning"'],
      equal: ['service'],
    },
  ],
  maintenance: [
    {
      id: 'monday-morning',
      title: 'Monday patching',
      matchers: ['service="web"'],
      timeZone: 'Europe/Berlin',
      recurring: { days: ['mon'], from: '09:30', to: '10:30' },
    },
  ],
})

const matchers = (text: string) => {
  const parsed = parseMatchers(text)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.matchers
}

const silence = (id: string, text: string, startsAt: number, endsAt: number): Silence => ({
  id,
  matchers: matchers(text),
  startsAt,
  endsAt,
  createdBy: 'ann',
  comment: 'test',
})

describe('suppressionOf', () => {
  const critical = { service: 'db', severity: 'critical', alertname: 'Down' }
  const inputs = {
    silences: [silence('s1', '{host="a"}', t0 - 1, t0 + 60_000)],
    maintenance: config.maintenance,
    inhibitRules: config.inhibitRules,
    firing: [{ fingerprint: fingerprint(critical), labels: critical }],
  }
  it.each([
    { labels: { host: 'a', service: 'web' }, expected: 'silence:s1' },
    { labels: { service: 'web', severity: 'warning' }, expected: 'maintenance:monday-morning' },
    {
      labels: { service: 'db', severity: 'warning' },
      expected: `inhibited:${fingerprint(critical)}`,
    },
    { labels: { service: 'api', severity: 'warning' }, expected: undefined },
    { labels: critical, expected: undefined }, // never inhibited by itself
  ])('$labels → $expected', ({ labels: given, expected }) => {
    const labels = given as Record<string, string>
    const found = suppressionOf(fingerprint(labels), labels, inputs, t0)
    expect(found && suppressionText(found)).toBe(expected)
  })

  it('is over when the silence ends (half-open) and outside the window', () => {
    const later = t0 + 60_000
    expect(suppressionOf('x', { host: 'a' }, inputs, later)).toBeUndefined()
    expect(suppressionOf('x', { service: 'web' }, inputs, t0 + 31 * 60_000)).toBeUndefined()
  })
})

describe('routing to receivers and escalation', () => {
  it('follows continue and inherits timing', () => {
    const found = receiversFor(config, { team: 'dba' })
    expect(found.map((r) => [r.receiverId, r.match.groupWait])).toEqual([
      ['page', 5_000],
      ['both', 20_000],
    ])
    expect(receiversFor(config, { team: 'web' }).map((r) => r.receiverId)).toEqual(['chat'])
  })

  it('picks the first receiver with a policy, with its group wait', () => {
    expect(routedEscalation(config, { team: 'dba' })).toEqual({
      policyId: 'dba',
      receiverId: 'page',
      groupWait: 5_000,
    })
    expect(routedEscalation(config, { team: 'net' })).toMatchObject({ policyId: 'net' })
    expect(routedEscalation(config, { team: 'web' })).toBeUndefined()
  })

  it('lets a receiver turn dependency grouping off', () => {
    expect(dependencySuppressionFor(config, { team: 'dba' })).toBe(false)
    expect(dependencySuppressionFor(config, { team: 'web' })).toBe(true)
  })
})

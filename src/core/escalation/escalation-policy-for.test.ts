import { describe, expect, it } from 'vitest'
import { escalationPolicyFor } from './escalation-policy-for.js'
import { parseLabelMatcher } from './label-matcher.js'
import { oncallConfigSchema } from './policy-schema.js'

const config = oncallConfigSchema.parse({
  teams: { net: { escalationPolicy: 'net-policy' }, web: {} },
  routes: {
    match: [
      { matchers: ['severity="critical"', 'team=~"db|dba"'], escalationPolicy: 'dba-critical' },
      { matchers: ['team="dba"'], escalationPolicy: 'dba' },
      { matchers: ['env!="prod"'], escalationPolicy: 'low' },
    ],
  },
})

describe('escalationPolicyFor', () => {
  it.each([
    {
      name: 'the first route whose matchers all match',
      labels: { severity: 'critical', team: 'dba', env: 'prod' },
      expected: { policyId: 'dba-critical', via: { kind: 'route', index: 0 } },
    },
    {
      name: 'a later route when an earlier one matches only partly',
      labels: { severity: 'warning', team: 'dba', env: 'prod' },
      expected: { policyId: 'dba', via: { kind: 'route', index: 1 } },
    },
    {
      name: 'a missing label reads as empty, so != matches it',
      labels: { team: 'net' },
      expected: { policyId: 'low', via: { kind: 'route', index: 2 } },
    },
    {
      name: 'the team label’s policy when no route matches',
      labels: { team: 'net', env: 'prod' },
      expected: { policyId: 'net-policy', via: { kind: 'team', team: 'net' } },
    },
    {
      name: 'none for a team without a policy',
      labels: { team: 'web', env: 'prod' },
      expected: undefined,
    },
    {
      name: 'none for a team label naming no team',
      labels: { team: 'toString', env: 'prod' },
      expected: undefined,
    },
  ])('$name', ({ labels, expected }) => {
    expect(escalationPolicyFor(config, labels as Record<string, string>)).toEqual(expected)
  })
})

describe('parseLabelMatcher', () => {
  it.each([
    { text: 'severity="critical"', labels: { severity: 'critical' }, matches: true },
    { text: 'severity = critical', labels: { severity: 'critical' }, matches: true },
    { text: 'severity!="critical"', labels: { severity: 'critical' }, matches: false },
    { text: 'team=~"db.*"', labels: { team: 'dba' }, matches: true },
    { text: 'team=~"db"', labels: { team: 'dba' }, matches: false },
    { text: 'team!~"db|net"', labels: { team: 'web' }, matches: true },
    { text: 'msg="a \\"quoted\\" word"', labels: { msg: 'a "quoted" word' }, matches: true },
    { text: 'absent=""', labels: {}, matches: true },
  ])('$text against $labels is $matches', ({ text, labels, matches }) => {
    const parsed = parseLabelMatcher(text)
    expect(parsed.ok && parsed.test(labels as Record<string, string>)).toBe(matches)
  })

  it.each([
    { text: 'severity', reason: /unexpected/ },
    { text: '="a"', reason: /column 1/ },
    { text: 'a="open', reason: /quoted string/ },
    { text: 'a=~"("', reason: /not a valid regular expression/ },
  ])('refuses $text', ({ text, reason }) => {
    const parsed = parseLabelMatcher(text)
    expect(parsed.ok).toBe(false)
    expect(parsed.ok ? '' : parsed.reason).toMatch(reason)
  })
})

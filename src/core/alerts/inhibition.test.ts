import { describe, expect, it } from 'vitest'
import type { Labels } from './fingerprint.js'
import {
  inhibitedBy,
  inhibitRuleSchema,
  isInhibited,
  type InhibitingAlert,
  type InhibitRule,
} from './inhibition.js'
import { parseMatchers, type Matcher } from './matchers.js'

function matchers(text: string): Matcher[] {
  const result = parseMatchers(text)
  if (!result.ok) throw new Error(result.reason)
  return result.matchers
}

function rule(source: string, target: string, equal: string[]): InhibitRule {
  return { sourceMatchers: matchers(source), targetMatchers: matchers(target), equal }
}

// The rule from Alertmanager's docs: a critical alert mutes warnings of the same alert name
// in the same cluster.
const criticalMutesWarning = rule('severity="critical"', 'severity="warning"', [
  'alertname',
  'cluster',
])
const nodeDownMutesAll = rule('alertname="NodeDown"', 'alertname!="NodeDown"', ['instance'])
const anyCriticalMutesCritical = rule('severity="critical"', 'severity="critical"', ['cluster'])

const firing = (labels: Labels): InhibitingAlert => ({ labels, status: 'firing' })

describe('isInhibited', () => {
  it.each<{
    name: string
    target: Labels
    sources: InhibitingAlert[]
    rules: InhibitRule[]
    inhibited: boolean
  }>([
    {
      name: 'a critical alert mutes the warning with the same equal labels',
      target: { alertname: 'DiskFull', cluster: 'eu', severity: 'warning' },
      sources: [firing({ alertname: 'DiskFull', cluster: 'eu', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: true,
    },
    {
      name: 'a different value of an equal label stops the inhibition',
      target: { alertname: 'DiskFull', cluster: 'us', severity: 'warning' },
      sources: [firing({ alertname: 'DiskFull', cluster: 'eu', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: false,
    },
    {
      name: 'an equal label missing on both sides counts as equal',
      target: { alertname: 'DiskFull', severity: 'warning' },
      sources: [firing({ alertname: 'DiskFull', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: true,
    },
    {
      name: 'an equal label missing on one side only is not equal',
      target: { alertname: 'DiskFull', severity: 'warning' },
      sources: [firing({ alertname: 'DiskFull', cluster: 'eu', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: false,
    },
    {
      name: 'an empty value equals a missing label',
      target: { alertname: 'DiskFull', cluster: '', severity: 'warning' },
      sources: [firing({ alertname: 'DiskFull', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: true,
    },
    {
      name: 'an equal label named like an Object property is compared as a label',
      target: { severity: 'warning', constructor: 'x' },
      sources: [firing({ severity: 'critical' })],
      rules: [rule('severity="critical"', 'severity="warning"', ['constructor'])],
      inhibited: false,
    },
    {
      name: 'a resolved source inhibits nothing',
      target: { alertname: 'DiskFull', cluster: 'eu', severity: 'warning' },
      sources: [
        {
          labels: { alertname: 'DiskFull', cluster: 'eu', severity: 'critical' },
          status: 'resolved',
        },
      ],
      rules: [criticalMutesWarning],
      inhibited: false,
    },
    {
      name: 'a target the rule does not aim at is not inhibited',
      target: { alertname: 'DiskFull', cluster: 'eu', severity: 'info' },
      sources: [firing({ alertname: 'DiskFull', cluster: 'eu', severity: 'critical' })],
      rules: [criticalMutesWarning],
      inhibited: false,
    },
    {
      name: 'an alert cannot inhibit itself when it matches both sides of a rule',
      target: { alertname: 'Down', cluster: 'eu', severity: 'critical' },
      sources: [firing({ alertname: 'Down', cluster: 'eu', severity: 'critical' })],
      rules: [anyCriticalMutesCritical],
      inhibited: false,
    },
    {
      name: 'two alerts matching both sides of a rule do not inhibit each other',
      target: { alertname: 'Down', cluster: 'eu', severity: 'critical' },
      sources: [
        firing({ alertname: 'Down', cluster: 'eu', severity: 'critical' }),
        firing({ alertname: 'Latency', cluster: 'eu', severity: 'critical' }),
      ],
      rules: [anyCriticalMutesCritical],
      inhibited: false,
    },
    {
      name: 'a target that matches only the target side is muted by a source matching both',
      target: { alertname: 'Slow', instance: 'h1' },
      sources: [firing({ alertname: 'NodeDown', instance: 'h1' })],
      rules: [nodeDownMutesAll],
      inhibited: true,
    },
    {
      name: 'the source alert is not muted by its own rule',
      target: { alertname: 'NodeDown', instance: 'h1' },
      sources: [firing({ alertname: 'NodeDown', instance: 'h1' })],
      rules: [nodeDownMutesAll],
      inhibited: false,
    },
    {
      name: 'any one rule is enough',
      target: { alertname: 'Slow', instance: 'h1', severity: 'warning' },
      sources: [firing({ alertname: 'NodeDown', instance: 'h1' })],
      rules: [criticalMutesWarning, nodeDownMutesAll],
      inhibited: true,
    },
    {
      name: 'a rule with no equal labels lets any source inhibit',
      target: { severity: 'warning', cluster: 'us' },
      sources: [firing({ severity: 'critical', cluster: 'eu' })],
      rules: [rule('severity="critical"', 'severity="warning"', [])],
      inhibited: true,
    },
    {
      name: 'no rules inhibit nothing',
      target: { severity: 'warning' },
      sources: [firing({ severity: 'critical' })],
      rules: [],
      inhibited: false,
    },
  ])('$name', ({ target, sources, rules, inhibited }) => {
    expect(isInhibited(target, sources, rules)).toBe(inhibited)
  })

  it('names the rule and the source alert that inhibit', () => {
    const source = { fingerprint: 'f1', labels: { alertname: 'NodeDown', instance: 'h1' } }
    expect(
      inhibitedBy({ alertname: 'Slow', instance: 'h1' }, [source], [nodeDownMutesAll]),
    ).toEqual([{ rule: nodeDownMutesAll, source }])
  })
})

describe('inhibitRuleSchema', () => {
  it('reads Alertmanager matchers and the deprecated maps into one rule', () => {
    expect(
      inhibitRuleSchema.parse({
        sourceMatchers: ['severity="critical"'],
        targetMatch: { severity: 'warning' },
        targetMatchRe: { alertname: 'Disk.*' },
        equal: ['cluster'],
      }),
    ).toEqual({
      sourceMatchers: matchers('severity="critical"'),
      targetMatchers: matchers('severity="warning", alertname=~"Disk.*"'),
      equal: ['cluster'],
    })
  })

  it('defaults equal to no labels', () => {
    expect(inhibitRuleSchema.parse({ sourceMatchers: 'a="1"' }).equal).toEqual([])
  })

  it('reports a bad matcher with its path', () => {
    const result = inhibitRuleSchema.safeParse({ targetMatchers: ['a=~"("'] })
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['targetMatchers', 0],
        message: expect.stringContaining('is not a valid regular expression'),
      }),
    ])
  })

  it('reports a bad deprecated regex with its path', () => {
    const result = inhibitRuleSchema.safeParse({ sourceMatchRe: { job: '(api' } })
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['sourceMatchRe', 'job'],
        message: expect.stringContaining('inhibit rule: `sourceMatchRe.job`'),
      }),
    ])
  })
})

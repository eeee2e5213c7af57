import { describe, expect, it } from 'vitest'
import { keelConfigSchema } from './schema.js'

const base = {
  channels: { chat: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } },
  users: { ann: { name: 'Ann', channels: ['chat'] } },
  escalationPolicies: { dba: { levels: [{ targets: [{ user: 'ann' }] }] } },
}

function issues(alerting: unknown): string[] {
  const parsed = keelConfigSchema.safeParse({ ...base, alerting })
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('the alerting section of keel.yaml', () => {
  it('accepts receivers, a routing tree, inhibition and maintenance', () => {
    expect(
      issues({
        receivers: {
          page: { escalationPolicy: 'dba', channels: ['chat'] },
          chat: { channels: ['chat'] },
        },
        route: {
          receiver: 'chat',
          groupBy: ['alertname'],
          routes: [{ matchers: ['team="dba"'], receiver: 'page', groupWait: '10s' }],
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
            id: 'patch',
            title: 'Patching',
            matchers: ['service="web"'],
            timeZone: 'Europe/Berlin',
            recurring: { days: ['sun'], from: '02:00', to: '04:00' },
          },
        ],
      }),
    ).toEqual([])
  })

  it.each([
    {
      name: 'a route naming an unknown receiver',
      alerting: { receivers: { chat: { channels: ['chat'] } }, route: { receiver: 'pager' } },
      expected:
        /^alerting\.route\.receiver: receiver "pager" is not defined under alerting\.receivers; receivers: chat$/,
    },
    {
      name: 'a receiver naming an unknown channel',
      alerting: { receivers: { chat: { channels: ['slack'] } } },
      expected: /^alerting\.receivers\.chat\.channels\.0: .*slack/,
    },
    {
      name: 'a receiver naming an unknown escalation policy',
      alerting: { receivers: { page: { escalationPolicy: 'net' } } },
      expected:
        /^alerting\.receivers\.page\.escalationPolicy: escalation policy "net" is not defined under escalationPolicies; policies: dba$/,
    },
    {
      name: 'a receiver that reaches nobody',
      alerting: { receivers: { quiet: {} } },
      expected: /needs `channels`, an `escalationPolicy` or a `runbook`/,
    },
    {
      name: 'a root route with matchers',
      alerting: {
        receivers: { chat: { channels: ['chat'] } },
        route: { receiver: 'chat', matchers: ['a="b"'] },
      },
      expected: /the root route must not have matchers/,
    },
    {
      name: 'a maintenance window that would mute everything',
      alerting: {
        maintenance: [
          {
            id: 'm',
            title: 'M',
            matchers: ['a=~".*"'],
            timeZone: 'UTC',
            recurring: { days: ['mon'], from: '01:00', to: '02:00' },
          },
        ],
      },
      expected: /does not match the empty string/,
    },
    {
      name: 'a bad silence expiry notice',
      alerting: { silenceExpiryNotice: 'soon' },
      expected: /silenceExpiryNotice.*duration such as 30m/,
    },
  ])('rejects $name with a message naming the field', ({ alerting, expected }) => {
    const found = issues(alerting)
    expect(
      found.some((issue) => expected.test(issue)),
      found.join('\n'),
    ).toBe(true)
  })
})

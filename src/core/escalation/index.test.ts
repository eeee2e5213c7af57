import { describe, expect, it } from 'vitest'
import * as escalation from './index.js'

describe('the escalation domain index', () => {
  it('exports exactly the escalation functions and schemas other code may use', () => {
    expect(Object.keys(escalation).sort()).toEqual([
      'base64UrlDecode',
      'base64UrlEncode',
      'decodeAckLinkPayload',
      'defaultRepeatDelayMs',
      'encodeAckLinkPayload',
      'escalationLevelSchema',
      'escalationPlan',
      'escalationPolicyFor',
      'escalationPolicySchema',
      'escalationRouteSchema',
      'escalationRoutesSchema',
      'escalationTargetSchema',
      'nextEscalationStep',
      'oncallConfigSchema',
      'oncallConfigShape',
      'oncallIdSchema',
      'oncallReferenceIssues',
      'oncallUserSchema',
      'parseLabelMatcher',
      'resolveTargets',
      'scheduleBodySchema',
      'schedulesSchema',
      'teamSchema',
    ])
  })
})

import { parseLabelMatcher } from './label-matcher.js'
import type { OncallConfig } from './policy-schema.js'

/** Why an incident got its policy: a route (by index), or its `team` label's team. */
export type EscalationPolicyChoice =
  | { policyId: string; via: { kind: 'route'; index: number } }
  | { policyId: string; via: { kind: 'team'; team: string } }

/**
 * The escalation policy for an incident with these labels: the first route whose matchers all
 * match, else the policy of the team named by the `team` label, else none.
 */
export function escalationPolicyFor(
  config: Pick<OncallConfig, 'routes' | 'teams'>,
  labels: Readonly<Record<string, string>>,
): EscalationPolicyChoice | undefined {
  const index = config.routes.match.findIndex((route) =>
    route.matchers.every((text) => {
      const parsed = parseLabelMatcher(text)
      return parsed.ok && parsed.test(labels)
    }),
  )
  const route = config.routes.match[index]
  if (route !== undefined)
    return { policyId: route.escalationPolicy, via: { kind: 'route', index } }
  const team = labels.team
  const policyId =
    team !== undefined && Object.hasOwn(config.teams, team)
      ? config.teams[team]?.escalationPolicy
      : undefined
  return policyId === undefined
    ? undefined
    : { policyId, via: { kind: 'team', team: team as string } }
}

export {
  base64UrlDecode,
  base64UrlEncode,
  decodeAckLinkPayload,
  encodeAckLinkPayload,
  type AckLinkClaims,
  type DecodeAckLinkResult,
} from './ack-link.js'
export { escalationPlan, type PlannedEscalationStep } from './escalation-plan.js'
export { escalationPolicyFor, type EscalationPolicyChoice } from './escalation-policy-for.js'
export {
  parseLabelMatcher,
  type LabelMatcher,
  type ParseLabelMatcherResult,
} from './label-matcher.js'
export {
  nextEscalationStep,
  type EscalationState,
  type NextEscalationStep,
} from './next-escalation-step.js'
export {
  oncallReferenceIssues,
  type OncallReferenceIssue,
  type OncallReferenceOptions,
} from './oncall-references.js'
export {
  defaultRepeatDelayMs,
  escalationLevelSchema,
  escalationPolicySchema,
  escalationRouteSchema,
  escalationRoutesSchema,
  escalationTargetSchema,
  oncallConfigSchema,
  oncallConfigShape,
  oncallIdSchema,
  oncallUserSchema,
  scheduleBodySchema,
  schedulesSchema,
  teamSchema,
  type EscalationLevel,
  type EscalationPolicy,
  type EscalationRoute,
  type EscalationRoutes,
  type EscalationTarget,
  type OncallConfig,
  type OncallConfigInput,
  type OncallUser,
  type Team,
} from './policy-schema.js'
export {
  resolveTargets,
  type ResolvedTargets,
  type ResolveTargetsContext,
} from './resolve-targets.js'

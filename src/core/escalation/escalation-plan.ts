import type { Instant } from '../time.js'
import { nextEscalationStep } from './next-escalation-step.js'
import type { EscalationPolicy } from './policy-schema.js'

/** One timed step of a policy: a 1-based level, a 0-based repeat index and when it is paged. */
export interface PlannedEscalationStep {
  level: number
  repeatIndex: number
  at: Instant
}

/**
 * Every step of `policy` for an escalation started at `startedAt` when nobody acknowledges and
 * every step runs on time: the schedule the engine follows one durable step at a time.
 */
export function escalationPlan(
  policy: EscalationPolicy,
  startedAt: Instant,
): PlannedEscalationStep[] {
  const steps: PlannedEscalationStep[] = []
  let next = nextEscalationStep({ policy, status: 'active', startedAt }, startedAt)
  while (next.kind === 'step') {
    const { level, repeatIndex, dueAt } = next
    steps.push({ level, repeatIndex, at: dueAt })
    next = nextEscalationStep(
      { policy, status: 'active', startedAt, fired: { level, repeatIndex } },
      dueAt,
    )
  }
  return steps
}

import type { Instant } from '../time.js'
import type { EscalationPolicy } from './policy-schema.js'

/** Where an escalation stands, as the engine knows it when a step has fired (or before any). */
export interface EscalationState {
  policy: EscalationPolicy
  /** `active` escalates; an acknowledged or resolved incident stops paging. */
  status: 'active' | 'acknowledged' | 'resolved'
  /** When the escalation started (the incident opened or was escalated again). */
  startedAt: Instant
  /** The step that has just fired, 1-based level and 0-based repeat; absent before the first. */
  fired?: { level: number; repeatIndex: number }
}

/** The next step to queue, or why paging stops. */
export type NextEscalationStep =
  | { kind: 'step'; level: number; repeatIndex: number; dueAt: Instant }
  | { kind: 'stop'; reason: 'acknowledged' | 'resolved' | 'exhausted' }

/**
 * The step after `state.fired` (the first when nothing has fired): the next level, its delay
 * counted from `now`, the instant the previous step actually ran, so every level gets its whole
 * delay to answer even when a step ran late; after the last level the first level again,
 * `repeatDelay` later, `repeat` times. A policy that shrank since a step was queued continues
 * from its own last level.
 */
export function nextEscalationStep(state: EscalationState, now: Instant): NextEscalationStep {
  if (state.status !== 'active') return { kind: 'stop', reason: state.status }
  const { policy, fired } = state
  const levels = policy.levels
  if (fired === undefined) {
    return {
      kind: 'step',
      level: 1,
      repeatIndex: 0,
      dueAt: state.startedAt + (levels[0]?.delay ?? 0),
    }
  }
  if (fired.level < levels.length) {
    const next = levels[fired.level]
    return {
      kind: 'step',
      level: fired.level + 1,
      repeatIndex: fired.repeatIndex,
      dueAt: now + (next?.delay ?? 0),
    }
  }
  if (fired.repeatIndex < policy.repeat) {
    return {
      kind: 'step',
      level: 1,
      repeatIndex: fired.repeatIndex + 1,
      dueAt: now + policy.repeatDelay,
    }
  }
  return { kind: 'stop', reason: 'exhausted' }
}

import {
  evaluateConditions,
  parseCondition,
  type CheckOutcome,
  type ConditionContext,
  type Metric,
} from '../core/checks/index.js'
import type { ProbeContext } from './probe.js'

/** Everything a probe observed in one run, ready to be judged. */
export interface Observation {
  context: ProbeContext
  /** Conditions that apply when the monitor has none of its own. */
  defaults?: readonly string[]
  observed: ConditionContext
  latencyMs: number
  /** What was seen, in a few words (`HTTP 200 OK`); the message of an up outcome. */
  summary: string
  /** Set when the target could not be reached at all (`connection refused by …`). */
  failure?: string
  /** Failed checks of the probe's own fields (`keyword "ok" not found`); each makes it down. */
  problems?: readonly string[]
  /** Set when everything passed but something deserves attention (`slow: …`). */
  degraded?: string
  metrics?: Metric[]
}

function mentionsConnected(conditions: readonly string[]): boolean {
  return conditions.some((text) => {
    const parsed = parseCondition(text)
    return parsed.ok && parsed.condition.placeholders.includes('[CONNECTED]')
  })
}

/**
 * Judges an observation: a failure to connect is down unless the monitor's own conditions
 * test `[CONNECTED]` (a port that must stay closed); otherwise the conditions and the probe's
 * own checks decide between up and down, and `degraded` only lowers an up.
 */
export function concludeCheck(observation: Observation): CheckOutcome {
  const { context, observed, summary, failure, metrics } = observation
  const latencyMs = Math.max(0, Math.round(observation.latencyMs * 1000) / 1000)
  const base = { latencyMs, ...(metrics && metrics.length > 0 ? { metrics } : {}) }
  if (failure !== undefined) {
    if (!mentionsConnected(context.conditions)) return { ...base, status: 'down', message: failure }
    const verdict = evaluateConditions(context.conditions, observed)
    return verdict.ok
      ? { ...base, status: 'up', message: `${failure}, as the conditions expect` }
      : { ...base, status: 'down', message: [failure, ...verdict.failures].join('; ') }
  }
  const conditions =
    context.conditions.length > 0 ? context.conditions : (observation.defaults ?? [])
  const verdict = evaluateConditions(conditions, observed)
  const failures = [...(observation.problems ?? []), ...verdict.failures]
  if (failures.length > 0)
    return { ...base, status: 'down', message: [summary, ...failures].join('; ') }
  if (observation.degraded) {
    return { ...base, status: 'degraded', message: `${summary}; ${observation.degraded}` }
  }
  return { ...base, status: 'up', message: summary }
}

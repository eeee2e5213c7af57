import type { Instant } from '../time.js'
import type { CheckOutcome, CheckStatus, MonitorState } from './types.js'

/** How a monitor turns single observations into a confirmed state. */
export interface StatePolicy {
  /** Failed observations tolerated before the state becomes down (Uptime Kuma's "retries"). */
  retries: number
  /** Consecutive good observations needed to leave down or degraded. */
  recoveries: number
  /** Observations considered for flapping detection. */
  flapWindow: number
  /** Share of state changes in the window at which flapping starts (Nagios' high threshold). */
  flapHigh: number
  /** Share of state changes in the window below which flapping stops (Nagios' low threshold). */
  flapLow: number
}

/** Defaults an operator would expect: confirm a failure once, flap above 50 % changes in 20 runs. */
export const defaultStatePolicy: StatePolicy = {
  retries: 1,
  recoveries: 1,
  flapWindow: 20,
  flapHigh: 0.5,
  flapLow: 0.25,
}

/** The part of a monitor's stored runtime that the state machine reads and writes. */
export interface MonitorRuntime {
  state: MonitorState
  since: Instant
  consecutiveFailures: number
  consecutiveSuccesses: number
  /** Recent observations, oldest first, one letter each: u(p), d(own), g (degraded). */
  history: string
  flapping: boolean
}

/** A confirmed change of state, or the start or end of flapping; each becomes an alert event. */
export interface StateTransition {
  from: MonitorState
  to: MonitorState
  at: Instant
  message: string
  flapping: boolean
  /** Set when flapping started or stopped with this observation (the state may change too). */
  flappingChanged: boolean
}

/** The result of feeding one observation to the state machine. */
export interface StateDecision {
  runtime: MonitorRuntime
  transition?: StateTransition
}

const letter: Record<CheckStatus, string> = { up: 'u', down: 'd', degraded: 'g' }

/** The runtime of a monitor that has never been checked. */
export function initialRuntime(now: Instant, paused = false): MonitorRuntime {
  return {
    state: paused ? 'paused' : 'pending',
    since: now,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    history: '',
    flapping: false,
  }
}

function changeRatio(history: string): number {
  if (history.length < 2) return 0
  let changes = 0
  for (let i = 1; i < history.length; i++) if (history[i] !== history[i - 1]) changes++
  return changes / (history.length - 1)
}

/**
 * Applies one check outcome to a monitor's runtime and decides whether its confirmed state
 * changes. A paused monitor ignores outcomes. Failures are confirmed after `retries` further
 * failures; recoveries after `recoveries` successes. Flapping uses the share of changes between
 * consecutive observations in the window, with hysteresis between `flapHigh` and `flapLow`.
 */
export function applyCheckOutcome(
  runtime: MonitorRuntime,
  outcome: Pick<CheckOutcome, 'status' | 'message'>,
  policy: StatePolicy,
  now: Instant,
): StateDecision {
  if (runtime.state === 'paused') return { runtime }
  const good = outcome.status === 'up'
  const history = (runtime.history + letter[outcome.status]).slice(-policy.flapWindow)
  const consecutiveFailures = good ? 0 : runtime.consecutiveFailures + 1
  const consecutiveSuccesses = good ? runtime.consecutiveSuccesses + 1 : 0

  let state = runtime.state
  if (good) {
    if (state === 'pending' || consecutiveSuccesses >= policy.recoveries) state = 'up'
  } else if (consecutiveFailures > policy.retries) {
    state = outcome.status
  }

  const ratio = changeRatio(history)
  const full = history.length >= policy.flapWindow
  let flapping = runtime.flapping
  if (!flapping && full && ratio >= policy.flapHigh) flapping = true
  else if (flapping && ratio < policy.flapLow) flapping = false

  const since = state === runtime.state ? runtime.since : now
  const next: MonitorRuntime = {
    state,
    since,
    consecutiveFailures,
    consecutiveSuccesses,
    history,
    flapping,
  }
  const stateChanged = state !== runtime.state
  const flappingChanged = flapping !== runtime.flapping
  if (!stateChanged && !flappingChanged) return { runtime: next }
  return {
    runtime: next,
    transition: {
      from: runtime.state,
      to: state,
      at: now,
      message: outcome.message,
      flapping,
      flappingChanged,
    },
  }
}

/**
 * Pauses or resumes a monitor; resuming starts again from pending. Pausing ends flapping, so
 * that the alert flapping fired is resolved instead of staying firing while nothing is checked.
 */
export function setPaused(runtime: MonitorRuntime, paused: boolean, now: Instant): StateDecision {
  if (paused === (runtime.state === 'paused')) return { runtime }
  const next = paused
    ? { ...runtime, state: 'paused' as const, since: now, flapping: false }
    : initialRuntime(now)
  return {
    runtime: next,
    transition: {
      from: runtime.state,
      to: next.state,
      at: now,
      message: paused ? 'paused' : 'resumed',
      flapping: false,
      flappingChanged: next.flapping !== runtime.flapping,
    },
  }
}

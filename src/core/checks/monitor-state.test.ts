import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import {
  applyCheckOutcome,
  defaultStatePolicy,
  initialRuntime,
  setPaused,
  type MonitorRuntime,
  type StateDecision,
  type StatePolicy,
} from './monitor-state.js'
import type { CheckStatus, MonitorState } from './types.js'

const t0: Instant = Date.UTC(2026, 0, 15, 9, 0, 0)
const step = 60_000

/** What a step should produce: nothing, a state change, flapping starting or stopping, or both. */
type Expected =
  | 'change'
  | 'flapping starts'
  | 'flapping stops'
  | 'change, flapping starts'
  | 'change, flapping stops'

/** One observation (or a pause/resume), the confirmed state after it and the transition it makes. */
type Step =
  | readonly [CheckStatus | 'pause' | 'resume', MonitorState]
  | readonly [CheckStatus | 'pause' | 'resume', MonitorState, Expected]

interface Case {
  name: string
  policy?: Partial<StatePolicy>
  startPaused?: boolean
  steps: Step[]
  /** The observation history after the last step, when the case is about it. */
  history?: string
}

/** Never confirms a failure, so only flapping can make a transition. */
const flapOnly: Partial<StatePolicy> = { retries: 100, flapWindow: 5, flapHigh: 0.5, flapLow: 0.25 }

const cases: Case[] = [
  {
    name: 'the first good check takes a pending monitor up',
    steps: [['up', 'up', 'change']],
  },
  {
    name: 'a failure within retries keeps the monitor up',
    policy: { retries: 1 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'up'],
      ['up', 'up'],
      ['down', 'up'],
    ],
  },
  {
    name: 'a failure beyond retries takes the monitor down',
    policy: { retries: 2 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'up'],
      ['down', 'up'],
      ['down', 'down', 'change'],
      ['down', 'down'],
    ],
  },
  {
    name: 'with no retries the first failure is confirmed',
    policy: { retries: 0 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'down', 'change'],
    ],
  },
  {
    name: 'a pending monitor stays pending while its failures are within retries',
    policy: { retries: 1 },
    steps: [
      ['down', 'pending'],
      ['down', 'down', 'change'],
    ],
  },
  {
    name: 'a degraded check beyond retries makes the monitor degraded',
    policy: { retries: 1 },
    steps: [
      ['up', 'up', 'change'],
      ['degraded', 'up'],
      ['degraded', 'degraded', 'change'],
    ],
  },
  {
    name: 'a down check after confirmed degraded goes down at once',
    policy: { retries: 1 },
    steps: [
      ['up', 'up', 'change'],
      ['degraded', 'up'],
      ['degraded', 'degraded', 'change'],
      ['down', 'down', 'change'],
      ['degraded', 'degraded', 'change'],
    ],
  },
  {
    name: 'leaving down needs as many good checks in a row as recoveries',
    policy: { retries: 0, recoveries: 3 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'down', 'change'],
      ['up', 'down'],
      ['up', 'down'],
      ['down', 'down'],
      ['up', 'down'],
      ['up', 'down'],
      ['up', 'up', 'change'],
    ],
  },
  {
    name: 'leaving degraded needs as many good checks in a row as recoveries',
    policy: { retries: 0, recoveries: 2 },
    steps: [
      ['up', 'up', 'change'],
      ['degraded', 'degraded', 'change'],
      ['up', 'degraded'],
      ['up', 'up', 'change'],
    ],
  },
  {
    name: 'a monitor created paused ignores every outcome',
    policy: { retries: 0 },
    startPaused: true,
    steps: [
      ['down', 'paused'],
      ['up', 'paused'],
    ],
    history: '',
  },
  {
    name: 'a paused monitor ignores outcomes and resuming starts again from pending',
    policy: { retries: 0 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'down', 'change'],
      ['pause', 'paused', 'change'],
      ['up', 'paused'],
      ['pause', 'paused'],
      ['resume', 'pending', 'change'],
      ['resume', 'pending'],
      ['up', 'up', 'change'],
    ],
    history: 'u',
  },
  {
    name: 'flapping does not start before the window is full',
    policy: flapOnly,
    steps: [
      ['up', 'up', 'change'],
      ['down', 'up'],
      ['up', 'up'],
      ['down', 'up'],
    ],
  },
  {
    name: 'a share of changes between the low and high thresholds does not start flapping',
    policy: flapOnly,
    steps: [
      ['up', 'up', 'change'],
      ['up', 'up'],
      ['up', 'up'],
      ['up', 'up'],
      ['down', 'up'],
      ['down', 'up'],
    ],
  },
  {
    name: 'flapping starts at the high threshold and stops only below the low one',
    policy: flapOnly,
    steps: [
      ['up', 'up', 'change'],
      ['down', 'up'],
      ['up', 'up'],
      ['down', 'up'],
      ['up', 'up', 'flapping starts'], // udud u: 4 of 4 changes
      ['up', 'up'], // duduu: 3 of 4
      ['up', 'up'], // uduuu: 2 of 4, still at the high threshold
      ['up', 'up'], // duuuu: 1 of 4, at the low threshold, not below it
      ['up', 'up', 'flapping stops'], // uuuuu: none
      ['up', 'up'],
    ],
  },
  {
    name: 'degraded and down count as different observations for flapping',
    policy: flapOnly,
    steps: [
      ['up', 'up', 'change'],
      ['degraded', 'up'],
      ['down', 'up'],
      ['degraded', 'up'],
      ['down', 'up', 'flapping starts'],
    ],
  },
  {
    name: 'flapping can start with the same observation that changes the state',
    policy: { retries: 0, flapWindow: 3, flapHigh: 0.5, flapLow: 0.25 },
    steps: [
      ['up', 'up', 'change'],
      ['down', 'down', 'change'],
      ['up', 'up', 'change, flapping starts'],
    ],
  },
  {
    name: 'pausing a flapping monitor ends its flapping',
    policy: flapOnly,
    steps: [
      ['up', 'up', 'change'],
      ['down', 'up'],
      ['up', 'up'],
      ['down', 'up'],
      ['up', 'up', 'flapping starts'],
      ['pause', 'paused', 'change, flapping stops'],
      ['resume', 'pending', 'change'],
    ],
  },
  {
    name: 'the history keeps only the last flapWindow observations, oldest first',
    policy: { retries: 100, flapWindow: 4, flapHigh: 0.9, flapLow: 0.1 },
    steps: [
      ['up', 'up', 'change'],
      ['degraded', 'up'],
      ['up', 'up'],
      ['up', 'up'],
      ['down', 'up'],
      ['down', 'up'],
    ],
    history: 'uudd',
  },
]

describe('applyCheckOutcome and setPaused', () => {
  it.each(cases)('$name', ({ policy, startPaused, steps, history }) => {
    const fullPolicy: StatePolicy = { ...defaultStatePolicy, ...policy }
    let runtime: MonitorRuntime = initialRuntime(t0, startPaused)
    let sinceExpected = t0
    let flappingExpected = false
    steps.forEach(([action, state, expected], index) => {
      const now = t0 + (index + 1) * step
      const message = `${action} #${index + 1}`
      let decision: StateDecision
      if (action === 'pause' || action === 'resume') {
        decision = setPaused(runtime, action === 'pause', now)
      } else {
        decision = applyCheckOutcome(runtime, { status: action, message }, fullPolicy, now)
      }
      const where = `step ${index + 1} (${action})`
      const from = runtime.state
      if (state !== from) sinceExpected = now
      if (expected?.includes('flapping starts') === true) flappingExpected = true
      if (expected?.includes('flapping stops') === true) flappingExpected = false

      expect(decision.runtime.state, where).toBe(state)
      expect(decision.runtime.since, `${where}: since`).toBe(sinceExpected)
      expect(decision.runtime.flapping, `${where}: flapping`).toBe(flappingExpected)
      if (expected === undefined) {
        expect(decision.transition, where).toBeUndefined()
      } else {
        expect(decision.transition, where).toEqual({
          from,
          to: state,
          at: now,
          message: action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : message,
          flapping: flappingExpected,
          flappingChanged: expected.includes('flapping'),
        })
      }
      runtime = decision.runtime
    })
    if (history !== undefined) expect(runtime.history).toBe(history)
  })
})

describe('initialRuntime', () => {
  it.each([
    { name: 'a new monitor is pending', paused: false, state: 'pending' },
    { name: 'a new monitor created paused is paused', paused: true, state: 'paused' },
  ] as const)('$name', ({ paused, state }) => {
    expect(initialRuntime(t0, paused)).toEqual({
      state,
      since: t0,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      history: '',
      flapping: false,
    })
  })
})

describe('the state machine leaves its input alone', () => {
  it.each([
    { name: 'applying an outcome does not change the runtime passed in', pause: false },
    { name: 'pausing does not change the runtime passed in', pause: true },
  ])('$name', ({ pause }) => {
    const runtime: MonitorRuntime = {
      state: 'up',
      since: t0,
      consecutiveFailures: 0,
      consecutiveSuccesses: 3,
      history: 'uuu',
      flapping: false,
    }
    const copy = structuredClone(runtime)
    if (pause) setPaused(runtime, true, t0 + step)
    else applyCheckOutcome(runtime, { status: 'down', message: 'x' }, defaultStatePolicy, t0 + step)
    expect(runtime).toEqual(copy)
  })
})

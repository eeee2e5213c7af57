import { describe, expect, it } from 'vitest'
import { escalationPlan } from './escalation-plan.js'
import { nextEscalationStep, type EscalationState } from './next-escalation-step.js'
import { escalationPolicySchema } from './policy-schema.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const minute = 60_000

const threeLevels = escalationPolicySchema.parse({
  levels: [
    { delay: '1m', targets: [{ schedule: 'primary' }] },
    { delay: '5m', targets: [{ schedule: 'secondary' }] },
    { delay: '10m', targets: [{ user: 'boss' }] },
  ],
  repeat: 1,
  repeatDelay: '15m',
})

const oneLevel = escalationPolicySchema.parse({ levels: [{ targets: [{ user: 'ann' }] }] })

describe('escalationPlan', () => {
  it.each([
    {
      name: 'three levels repeated once: delays add up, the repeat starts after repeatDelay',
      policy: threeLevels,
      expected: [
        { level: 1, repeatIndex: 0, at: t0 + 1 * minute },
        { level: 2, repeatIndex: 0, at: t0 + 6 * minute },
        { level: 3, repeatIndex: 0, at: t0 + 16 * minute },
        { level: 1, repeatIndex: 1, at: t0 + 31 * minute },
        { level: 2, repeatIndex: 1, at: t0 + 36 * minute },
        { level: 3, repeatIndex: 1, at: t0 + 46 * minute },
      ],
    },
    {
      name: 'one level without delay or repeat: a single page at the start',
      policy: oneLevel,
      expected: [{ level: 1, repeatIndex: 0, at: t0 }],
    },
    {
      name: 'one level repeated three times: the default repeat delay of five minutes between',
      policy: { ...oneLevel, repeat: 3 },
      expected: [0, 5, 10, 15].map((m, repeatIndex) => ({
        level: 1,
        repeatIndex,
        at: t0 + m * minute,
      })),
    },
  ])('$name', ({ policy, expected }) => {
    expect(escalationPlan(policy, t0)).toEqual(expected)
  })

  it('is finite for the largest policy: 20 levels, 9 repeats', () => {
    const policy = escalationPolicySchema.parse({
      levels: Array.from({ length: 20 }, () => ({ delay: '1m', targets: [{ user: 'a' }] })),
      repeat: 9,
    })
    expect(escalationPlan(policy, t0)).toHaveLength(200)
  })
})

describe('nextEscalationStep', () => {
  const state = (overrides: Partial<EscalationState>): EscalationState => ({
    policy: threeLevels,
    status: 'active',
    startedAt: t0,
    ...overrides,
  })

  it.each([
    {
      name: 'before anything fired, the first level after its delay from the start',
      state: state({}),
      now: t0,
      expected: { kind: 'step', level: 1, repeatIndex: 0, dueAt: t0 + minute },
    },
    {
      name: 'after a level, the next one its delay after the step actually ran',
      state: state({ fired: { level: 1, repeatIndex: 0 } }),
      now: t0 + 3 * minute,
      expected: { kind: 'step', level: 2, repeatIndex: 0, dueAt: t0 + 8 * minute },
    },
    {
      name: 'after the last level with repeats left, the first level again',
      state: state({ fired: { level: 3, repeatIndex: 0 } }),
      now: t0 + 16 * minute,
      expected: { kind: 'step', level: 1, repeatIndex: 1, dueAt: t0 + 31 * minute },
    },
    {
      name: 'after the last level of the last repeat, nothing: the policy is exhausted',
      state: state({ fired: { level: 3, repeatIndex: 1 } }),
      now: t0,
      expected: { kind: 'stop', reason: 'exhausted' },
    },
    {
      name: 'after a level the policy no longer has, as after its last level',
      state: state({ policy: oneLevel, fired: { level: 3, repeatIndex: 0 } }),
      now: t0,
      expected: { kind: 'stop', reason: 'exhausted' },
    },
    {
      name: 'once acknowledged, nothing more',
      state: state({ status: 'acknowledged', fired: { level: 1, repeatIndex: 0 } }),
      now: t0,
      expected: { kind: 'stop', reason: 'acknowledged' },
    },
    {
      name: 'once resolved, nothing more, even before the first level',
      state: state({ status: 'resolved' }),
      now: t0,
      expected: { kind: 'stop', reason: 'resolved' },
    },
  ])('$name', ({ state, now, expected }) => {
    expect(nextEscalationStep(state, now)).toEqual(expected)
  })
})

import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { applyRunEvent, startRun, type RunEvent, type RunState } from './run.js'
import { parseRunbook } from './parse-runbook.js'
import type { Runbook } from './model.js'

function runbook(text: string): Runbook {
  const result = parseRunbook({ name: 'dns', text: `---\ntitle: DNS\n---\n${text}` }, parseYaml)
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'))
  return result.runbook
}

const dns = runbook(`
## Step: resolve — Does the name resolve?
\`\`\`keel-decision
question: Does dig return an answer?
answers:
  - { label: "Yes", next: done-check }
  - { label: "No", next: resolver }
\`\`\`

## Step: resolver — Check the resolver
\`\`\`keel-command
run: cat /etc/resolv.conf
\`\`\`

## Step: fix — Fix the resolver
- [ ] point resolv.conf at a working server

## Step: done-check — Confirm
\`\`\`keel-command
run: "true"
continueOnError: true
\`\`\`
`)

const running = (step: string, taken = 0): RunState => ({
  status: 'running',
  currentStep: step,
  stepsTaken: taken,
})

describe('walking a troubleshooting tree', () => {
  it.each<{ name: string; state: RunState; event: RunEvent; expected: RunState | string }>([
    {
      name: 'answer "No" jumps to the resolver step',
      state: running('resolve'),
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: 'no' } },
      expected: running('resolver', 1),
    },
    {
      name: 'answer number 1 jumps to the confirmation',
      state: running('resolve'),
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: '1' } },
      expected: running('done-check', 1),
    },
    {
      name: 'an unknown answer is refused with the choices',
      state: running('resolve'),
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: 'maybe' } },
      expected: 'choose one of 1. Yes, 2. No',
    },
    {
      name: 'ticking a decision is refused',
      state: running('resolve'),
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'ticked' } },
      expected: 'answer its question',
    },
    {
      name: 'a successful command moves to the next step in the document',
      state: running('resolver', 1),
      event: {
        kind: 'complete',
        step: 'resolver',
        outcome: { kind: 'executed', ok: true, summary: 'exit 0' },
      },
      expected: running('fix', 2),
    },
    {
      name: 'a failed command fails the run',
      state: running('resolver', 1),
      event: {
        kind: 'complete',
        step: 'resolver',
        outcome: { kind: 'executed', ok: false, summary: 'exit 1' },
      },
      expected: { status: 'failed', stepsTaken: 2, reason: 'step `resolver` failed: exit 1' },
    },
    {
      name: 'a failed command with continueOnError goes on (here to the end)',
      state: running('done-check', 3),
      event: {
        kind: 'complete',
        step: 'done-check',
        outcome: { kind: 'executed', ok: false, summary: 'exit 1' },
      },
      expected: { status: 'succeeded', stepsTaken: 4 },
    },
    {
      name: 'ticking a checklist moves on',
      state: running('fix', 2),
      event: { kind: 'complete', step: 'fix', outcome: { kind: 'ticked' } },
      expected: running('done-check', 3),
    },
    {
      name: 'a step that is not current is refused',
      state: running('fix', 2),
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: 'yes' } },
      expected: 'is not the current step',
    },
    {
      name: 'a pending run refuses steps',
      state: { status: 'pendingApproval', stepsTaken: 0 },
      event: { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: 'yes' } },
      expected: 'approve it before',
    },
    {
      name: 'approval starts at the first step',
      state: { status: 'pendingApproval', stepsTaken: 0 },
      event: { kind: 'approve' },
      expected: running('resolve'),
    },
    {
      name: 'a running run needs no approval',
      state: running('fix'),
      event: { kind: 'approve' },
      expected: 'it needs no approval',
    },
    {
      name: 'cancel ends a running run',
      state: running('fix'),
      event: { kind: 'cancel', reason: 'not needed' },
      expected: { status: 'cancelled', stepsTaken: 0, reason: 'not needed' },
    },
    {
      name: 'a dead node interrupts a running run at its step',
      state: running('resolver', 1),
      event: { kind: 'interrupt', reason: 'node a stopped' },
      expected: {
        status: 'interrupted',
        currentStep: 'resolver',
        stepsTaken: 1,
        reason: 'node a stopped',
      },
    },
    {
      name: 'only a running run is interrupted',
      state: { status: 'pendingApproval', stepsTaken: 0 },
      event: { kind: 'interrupt', reason: 'node a stopped' },
      expected: 'only a running run is interrupted',
    },
    {
      name: 'resuming from the next step skips the interrupted command',
      state: { status: 'interrupted', currentStep: 'resolver', stepsTaken: 1, reason: 'x' },
      event: { kind: 'resume', from: 'next' },
      expected: running('fix', 2),
    },
    {
      name: 'retrying runs the interrupted command again',
      state: { status: 'interrupted', currentStep: 'resolver', stepsTaken: 1, reason: 'x' },
      event: { kind: 'resume', from: 'retry' },
      expected: running('resolver', 1),
    },
    {
      name: 'a running run is not resumed',
      state: running('fix', 2),
      event: { kind: 'resume', from: 'next' },
      expected: 'only an interrupted run is resumed',
    },
    {
      name: 'an interrupted run can be cancelled',
      state: { status: 'interrupted', currentStep: 'resolver', stepsTaken: 1, reason: 'x' },
      event: { kind: 'cancel', reason: 'done by hand' },
      expected: { status: 'cancelled', stepsTaken: 1, reason: 'done by hand' },
    },
    {
      name: 'a finished run refuses everything',
      state: { status: 'succeeded', stepsTaken: 4 },
      event: { kind: 'cancel' },
      expected: 'already succeeded',
    },
  ])('$name', ({ state, event, expected }) => {
    const result = applyRunEvent(dns, state, event)
    if (typeof expected === 'string') {
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.reason).toContain(expected)
    } else {
      expect(result.ok && result.state).toEqual(expected)
    }
  })

  it('starts waiting for approval only when asked to', () => {
    expect(startRun(dns, { approvalNeeded: true })).toEqual({
      status: 'pendingApproval',
      stepsTaken: 0,
    })
    expect(startRun(dns, { approvalNeeded: false })).toEqual(running('resolve'))
  })

  it('walks a whole path: No → resolver → fix → confirm → end', () => {
    const events: RunEvent[] = [
      { kind: 'complete', step: 'resolve', outcome: { kind: 'answered', answer: 'No' } },
      { kind: 'complete', step: 'resolver', outcome: { kind: 'executed', ok: true, summary: '' } },
      { kind: 'complete', step: 'fix', outcome: { kind: 'ticked' } },
      {
        kind: 'complete',
        step: 'done-check',
        outcome: { kind: 'executed', ok: true, summary: '' },
      },
    ]
    let state = startRun(dns, { approvalNeeded: false })
    const visited: string[] = []
    for (const event of events) {
      visited.push(state.currentStep ?? '')
      const result = applyRunEvent(dns, state, event)
      if (!result.ok) throw new Error(result.reason)
      state = result.state
    }
    expect(visited).toEqual(['resolve', 'resolver', 'fix', 'done-check'])
    expect(state).toEqual({ status: 'succeeded', stepsTaken: 4 })
  })
})

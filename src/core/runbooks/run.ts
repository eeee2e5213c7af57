import type { Runbook, RunbookStep } from './model.js'
import { endTarget, followingStep } from './step-graph.js'

/** The states of a run, in the order they usually happen. */
export const runStatuses = [
  'pendingApproval',
  'running',
  'interrupted',
  'succeeded',
  'failed',
  'cancelled',
] as const

/** Where a run is. */
export type RunStatus = (typeof runStatuses)[number]

/** A run's position: its status, the step it is at, and how many steps it has taken. */
export interface RunState {
  status: RunStatus
  /** The step waiting for a person or for Keel, while running. */
  currentStep?: string
  stepsTaken: number
  /** Why the run failed, was cancelled or was interrupted. */
  reason?: string
}

/** How a step ended: ticked (checklist, link), answered (decision) or executed (command, HTTP). */
export type StepOutcome =
  | { kind: 'ticked' }
  | { kind: 'answered'; answer: string }
  | { kind: 'executed'; ok: boolean; summary: string }

/** Something that happens to a run. */
export type RunEvent =
  | { kind: 'approve' }
  | { kind: 'complete'; step: string; outcome: StepOutcome }
  | { kind: 'cancel'; reason?: string }
  | { kind: 'interrupt'; reason: string }
  | { kind: 'resume'; from: ResumePoint }

/** Where an interrupted run goes on: the step after the interrupted one, or that step again. */
export type ResumePoint = 'next' | 'retry'

/** The run after an event, with the answer chosen at a decision; or why the event is refused. */
export type RunTransition =
  { ok: true; state: RunState; answer?: string } | { ok: false; reason: string }

/** At most this many steps per run, so a loop allowed with `allowCycles` still ends. */
export const maxStepsPerRun = 500

/** True for the statuses a run never leaves (an interrupted run waits to be resumed or cancelled). */
export function isFinished(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled'
}

function at(target: string, stepsTaken: number): RunState {
  if (target === endTarget) return { status: 'succeeded', stepsTaken }
  if (stepsTaken >= maxStepsPerRun) {
    return {
      status: 'failed',
      stepsTaken,
      reason: `the run took ${stepsTaken} steps without ending; a decision tree loops`,
    }
  }
  return { status: 'running', currentStep: target, stepsTaken }
}

/** The first state of a new run: waiting for approval when it needs it, else at its first step. */
export function startRun(
  runbook: Pick<Runbook, 'steps'>,
  options: { approvalNeeded: boolean },
): RunState {
  if (options.approvalNeeded) return { status: 'pendingApproval', stepsTaken: 0 }
  return at(runbook.steps[0]?.id ?? endTarget, 0)
}

/** Finds a decision answer by its label (case-insensitive) or its 1-based number. */
export function findAnswer(
  step: Extract<RunbookStep, { kind: 'decision' }>,
  answer: string,
): { label: string; next: string } | undefined {
  const wanted = answer.trim().toLowerCase()
  const byLabel = step.answers.find((a) => a.label.toLowerCase() === wanted)
  if (byLabel) return byLabel
  if (/^\d+$/.test(wanted)) return step.answers[Number(wanted) - 1]
  return undefined
}

const outcomeFor: Record<RunbookStep['kind'], StepOutcome['kind']> = {
  checklist: 'ticked',
  link: 'ticked',
  decision: 'answered',
  command: 'executed',
  http: 'executed',
}

/**
 * Applies one event to a run: approval starts it, completing the current step moves it on
 * (a decision jumps to its answer's step, a failed command fails the run unless the step says
 * `continueOnError`), and cancelling ends it. Illegal events are refused with a reason.
 */
export function applyRunEvent(
  runbook: Pick<Runbook, 'steps'>,
  state: RunState,
  event: RunEvent,
): RunTransition {
  if (isFinished(state.status)) {
    return { ok: false, reason: `the run is already ${state.status}` }
  }
  switch (event.kind) {
    case 'cancel':
      return {
        ok: true,
        state: {
          status: 'cancelled',
          stepsTaken: state.stepsTaken,
          reason: event.reason ?? 'cancelled',
        },
      }
    case 'interrupt':
      // The node executing the step died: the run keeps its place and waits for a person.
      if (state.status !== 'running') {
        return {
          ok: false,
          reason: `the run is ${state.status}; only a running run is interrupted`,
        }
      }
      return {
        ok: true,
        state: {
          status: 'interrupted',
          ...(state.currentStep !== undefined ? { currentStep: state.currentStep } : {}),
          stepsTaken: state.stepsTaken,
          reason: event.reason,
        },
      }
    case 'resume': {
      if (state.status !== 'interrupted' || state.currentStep === undefined) {
        return {
          ok: false,
          reason: `the run is ${state.status}; only an interrupted run is resumed`,
        }
      }
      if (event.from === 'retry') {
        return {
          ok: true,
          state: {
            status: 'running',
            currentStep: state.currentStep,
            stepsTaken: state.stepsTaken,
          },
        }
      }
      const step = runbook.steps.find((s) => s.id === state.currentStep)
      if (step === undefined || (step.kind !== 'command' && step.kind !== 'http')) {
        return {
          ok: false,
          reason: `step \`${state.currentStep}\` is not a command or HTTP step; retry it instead`,
        }
      }
      // The interrupted step counts as taken: its output is kept and it is not run again.
      return { ok: true, state: at(followingStep(runbook.steps, step.id), state.stepsTaken + 1) }
    }
    case 'approve':
      if (state.status !== 'pendingApproval') {
        return { ok: false, reason: `the run is ${state.status}; it needs no approval` }
      }
      return { ok: true, state: at(runbook.steps[0]?.id ?? endTarget, 0) }
    case 'complete': {
      if (state.status !== 'running') {
        return {
          ok: false,
          reason: `the run is ${state.status}; approve it before working on its steps`,
        }
      }
      if (event.step !== state.currentStep) {
        return {
          ok: false,
          reason: `step \`${event.step}\` is not the current step; the run is at \`${state.currentStep ?? '-'}\``,
        }
      }
      const step = runbook.steps.find((s) => s.id === event.step)
      if (step === undefined)
        return { ok: false, reason: `the runbook has no step \`${event.step}\`` }
      const expected = outcomeFor[step.kind]
      if (event.outcome.kind !== expected) {
        const how =
          expected === 'answered'
            ? 'answer its question'
            : expected === 'ticked'
              ? 'tick it (optionally with a note)'
              : 'let Keel run it'
        return { ok: false, reason: `step \`${step.id}\` is a ${step.kind} step; ${how}` }
      }
      const taken = state.stepsTaken + 1
      if (event.outcome.kind === 'answered' && step.kind === 'decision') {
        const answer = findAnswer(step, event.outcome.answer)
        if (answer === undefined) {
          return {
            ok: false,
            reason: `step \`${step.id}\`: ${JSON.stringify(event.outcome.answer)} is not an answer; choose one of ${step.answers.map((a, i) => `${i + 1}. ${a.label}`).join(', ')}`,
          }
        }
        return { ok: true, state: at(answer.next, taken), answer: answer.label }
      }
      if (
        event.outcome.kind === 'executed' &&
        !event.outcome.ok &&
        (step.kind === 'command' || step.kind === 'http') &&
        !step.continueOnError
      ) {
        return {
          ok: true,
          state: {
            status: 'failed',
            stepsTaken: taken,
            reason: `step \`${step.id}\` failed: ${event.outcome.summary}`,
          },
        }
      }
      return { ok: true, state: at(followingStep(runbook.steps, step.id), taken) }
    }
  }
}

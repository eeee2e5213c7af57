import { needsApproval } from './access.js'
import type { Runbook } from './model.js'
import type { ParameterValues } from './parameters.js'
import { renderHttpRequest, type HttpRequestPlan } from './render-http.js'
import { redactParameters, secretParameterNames } from './secrets.js'
import { stepSuccessors } from './step-graph.js'

/**
 * The environment variables that carry parameter values into command steps: each value under
 * its own name and under `KEEL_PARAM_<NAME>` (upper case).
 */
export function parameterEnvironment(values: ParameterValues): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(values)) {
    env[name] = value
    env[`KEEL_PARAM_${name.toUpperCase()}`] = value
  }
  return env
}

/** What one step would do, exactly. */
export interface PlannedStep {
  id: string
  title: string
  kind: Runbook['steps'][number]['kind']
  dangerous: boolean
  /** Where the run may go after this step. */
  next: string[]
  command?: { shell: string; script: string; env: Record<string, string>; timeoutMs: number }
  http?: HttpRequestPlan & { timeoutMs: number }
  /** Why the HTTP request cannot be built with these parameters. */
  problem?: string
  question?: string
  answers?: { label: string; next: string }[]
  items?: string[]
  runbook?: string
}

/** A dry run: every step with what it would run, and whether approval is needed. */
export interface RunPlan {
  runbook: string
  parameters: ParameterValues
  needsApproval: boolean
  steps: PlannedStep[]
}

/** The shell a runbook's commands run under. */
export function shellPath(shell: Runbook['shell']): string {
  return shell === 'bash' ? '/bin/bash' : '/bin/sh'
}

/**
 * Shows exactly what a run would do with these parameter values, running nothing; secret
 * parameters are shown as `<redacted>`.
 */
export function planRun(runbook: Runbook, given: ParameterValues): RunPlan {
  const values = redactParameters(given, secretParameterNames(runbook))
  const env = parameterEnvironment(values)
  const steps = runbook.steps.map((step, index): PlannedStep => {
    const base = {
      id: step.id,
      title: step.title,
      kind: step.kind,
      dangerous: (step.kind === 'command' || step.kind === 'http') && step.dangerous,
      next: stepSuccessors(runbook.steps, index),
    }
    switch (step.kind) {
      case 'command':
        return {
          ...base,
          command: {
            shell: shellPath(runbook.shell),
            script: step.run,
            env,
            timeoutMs: step.timeoutMs,
          },
        }
      case 'http': {
        const rendered = renderHttpRequest(step, values)
        return rendered.ok
          ? { ...base, http: { ...rendered.request, timeoutMs: step.timeoutMs } }
          : { ...base, problem: rendered.reason }
      }
      case 'decision':
        return { ...base, question: step.question, answers: step.answers }
      case 'checklist':
        return { ...base, items: step.items }
      case 'link':
        return { ...base, runbook: step.runbook }
    }
  })
  return { runbook: runbook.name, parameters: values, needsApproval: needsApproval(runbook), steps }
}

import type { RunbookStep } from './model.js'

/** The target that finishes a run. */
export const endTarget = 'end'

/**
 * Where each step can go next: a decision's answers, else its `next`, else the following step
 * (or `end` after the last one).
 */
export function stepSuccessors(steps: readonly RunbookStep[], index: number): string[] {
  const step = steps[index]
  if (step === undefined) return []
  if (step.kind === 'decision') return [...new Set(step.answers.map((a) => a.next))]
  if (step.next !== undefined) return [step.next]
  return [steps[index + 1]?.id ?? endTarget]
}

/** The step a run goes to after `stepId` when it has only one way on. */
export function followingStep(steps: readonly RunbookStep[], stepId: string): string {
  const index = steps.findIndex((s) => s.id === stepId)
  return stepSuccessors(steps, index)[0] ?? endTarget
}

/**
 * Problems with the steps' jumps: targets that name no step, and cycles (a troubleshooting
 * tree that can loop forever) unless the runbook says `allowCycles: true`.
 */
export function stepGraphIssues(
  steps: readonly RunbookStep[],
  options: { allowCycles: boolean },
): { line?: number; message: string }[] {
  const issues: { line?: number; message: string }[] = []
  const ids = new Map(steps.map((s, i) => [s.id, i]))
  const edges = steps.map((_, i) => stepSuccessors(steps, i))
  edges.forEach((targets, i) => {
    const step = steps[i] as RunbookStep
    for (const target of targets) {
      if (target !== endTarget && !ids.has(target)) {
        issues.push({
          line: step.line,
          message: `step \`${step.id}\` jumps to \`${target}\`, which is no step; use one of ${[...ids.keys(), endTarget].map((id) => `\`${id}\``).join(', ')}`,
        })
      }
    }
  })
  if (issues.length > 0 || options.allowCycles) return issues

  // Depth-first search with three colours; a grey node reached again closes a cycle.
  const colour = new Array<0 | 1 | 2>(steps.length).fill(0)
  const path: number[] = []
  let cycle: number[] | undefined
  const visit = (i: number): void => {
    if (cycle) return
    colour[i] = 1
    path.push(i)
    for (const target of edges[i] as string[]) {
      const j = ids.get(target)
      if (j === undefined) continue
      if (colour[j] === 1) {
        cycle = [...path.slice(path.indexOf(j)), j]
        return
      }
      if (colour[j] === 0) visit(j)
      if (cycle) return
    }
    path.pop()
    colour[i] = 2
  }
  for (let i = 0; i < steps.length && !cycle; i++) if (colour[i] === 0) visit(i)
  if (cycle) {
    const names = cycle.map((i) => `\`${(steps[i] as RunbookStep).id}\``).join(' → ')
    issues.push({
      line: (steps[cycle[0] as number] as RunbookStep).line,
      message: `the steps loop: ${names}; point an answer or \`next\` elsewhere, or set \`allowCycles: true\` in the front matter if the loop is intended`,
    })
  }
  return issues
}

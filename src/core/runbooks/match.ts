import { matchesAll, type Labels } from '../alerts/index.js'
import type { Runbook } from './model.js'

/** True when an alert with these labels matches one of the runbook's `alerts` entries. */
export function runbookAnswersAlert(runbook: Pick<Runbook, 'alerts'>, labels: Labels): boolean {
  return runbook.alerts.some((matchers) => matchers.length > 0 && matchesAll(matchers, labels))
}

/** What to select runbooks by; every given field must match. */
export interface RunbookFilter {
  role?: string
  entity?: string
  labels?: Labels
}

/** The runbooks that match a filter, in name order. */
export function filterRunbooks<T extends Pick<Runbook, 'name' | 'roles' | 'entities' | 'alerts'>>(
  runbooks: readonly T[],
  filter: RunbookFilter,
): T[] {
  return runbooks
    .filter((r) => filter.role === undefined || r.roles.includes(filter.role))
    .filter((r) => filter.entity === undefined || r.entities.includes(filter.entity))
    .filter((r) => filter.labels === undefined || runbookAnswersAlert(r, filter.labels))
    .sort((a, b) => a.name.localeCompare(b.name))
}

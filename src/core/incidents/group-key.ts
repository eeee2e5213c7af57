import type { Labels } from '../alerts/index.js'

/** The labels incidents are grouped by unless told otherwise: one open incident per service. */
export const defaultIncidentGroupBy: readonly string[] = ['service']

// Alerts that name none of the group-by labels still group per rule and per monitor rather than
// one incident each (Alertmanager's `group_by: [alertname]` habit, plus Keel's own monitors).
const fallbackGroupBy = ['alertname', 'monitor']

function keyOf(labels: Labels, names: readonly string[]): string {
  return names
    .filter((n) => labels[n] !== undefined && labels[n] !== '')
    .map((n) => `${n}=${JSON.stringify(labels[n])}`)
    .join(',')
}

/**
 * The key that decides which open incident an alert joins: the values of the `groupBy` labels
 * when the alert has all of them, else its `alertname` and `monitor`, else all its labels.
 * Values are quoted so `a,b` in a value cannot forge another key.
 */
export function incidentGroupKey(
  labels: Labels,
  groupBy: readonly string[] = defaultIncidentGroupBy,
): string {
  const present = (n: string) => labels[n] !== undefined && labels[n] !== ''
  if (groupBy.length > 0 && groupBy.every(present)) return keyOf(labels, groupBy)
  const fallback = keyOf(labels, fallbackGroupBy)
  if (fallback !== '') return fallback
  return keyOf(labels, Object.keys(labels).sort())
}

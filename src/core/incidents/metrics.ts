import type { Instant } from '../time.js'
import type { Incident } from './incident.js'

/** The mean and percentiles of a set of durations, in milliseconds. */
export interface DurationStats {
  count: number
  meanMs: number
  p50Ms: number
  p90Ms: number
}

/** MTTA and MTTR of one group of incidents; a stat is absent when no incident qualifies. */
export interface IncidentGroupMetrics {
  /** The service or team, or `(none)` for incidents without one. */
  group: string
  incidents: number
  acknowledged: number
  resolved: number
  /** Mean time to acknowledge: first acknowledgement minus creation. */
  mtta?: DurationStats
  /** Mean time to resolve: resolution minus creation. */
  mttr?: DurationStats
}

/** The grouping of an MTTA/MTTR report. */
export type IncidentMetricsGroupBy = 'service' | 'team'

/** An MTTA/MTTR report over the incidents opened in `[from, to)`. */
export interface IncidentMetrics {
  from: Instant
  to: Instant
  groupBy: IncidentMetricsGroupBy
  groups: IncidentGroupMetrics[]
  overall: IncidentGroupMetrics
}

/** The group name of incidents without the grouping field. */
export const noGroup = '(none)'

/** The value at fraction `p` of sorted values, nearest-rank (p90 of 10 values is the 9th). */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[rank - 1] as number
}

function stats(durations: number[]): DurationStats | undefined {
  if (durations.length === 0) return undefined
  const sorted = [...durations].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count: sorted.length,
    meanMs: Math.round(sum / sorted.length),
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
  }
}

function groupMetrics(group: string, incidents: readonly Incident[]): IncidentGroupMetrics {
  // A clock step backwards must not produce negative response times.
  const acks = incidents
    .filter((i) => i.acknowledgedAt !== undefined)
    .map((i) => Math.max(0, (i.acknowledgedAt as number) - i.createdAt))
  const resolves = incidents
    .filter((i) => i.status === 'resolved' && i.resolvedAt !== undefined)
    .map((i) => Math.max(0, (i.resolvedAt as number) - i.createdAt))
  const mtta = stats(acks)
  const mttr = stats(resolves)
  return {
    group,
    incidents: incidents.length,
    acknowledged: acks.length,
    resolved: resolves.length,
    ...(mtta ? { mtta } : {}),
    ...(mttr ? { mttr } : {}),
  }
}

/**
 * MTTA and MTTR (mean, p50, p90) of the incidents opened in `[from, to)`, per service or team
 * and overall. Incidents never acknowledged count only towards MTTR, open ones towards neither,
 * so a slow incident still open does not flatter the numbers: `incidents` shows how many there were.
 */
export function incidentMetrics(
  incidents: readonly Incident[],
  from: Instant,
  to: Instant,
  groupBy: IncidentMetricsGroupBy,
): IncidentMetrics {
  const inRange = incidents.filter((i) => i.createdAt >= from && i.createdAt < to)
  const groups = new Map<string, Incident[]>()
  for (const incident of inRange) {
    const group = incident[groupBy] ?? noGroup
    const list = groups.get(group)
    if (list) list.push(incident)
    else groups.set(group, [incident])
  }
  const names = [...groups.keys()].sort((a, b) =>
    a === noGroup ? 1 : b === noGroup ? -1 : a.localeCompare(b),
  )
  return {
    from,
    to,
    groupBy,
    groups: names.map((n) => groupMetrics(n, groups.get(n) as Incident[])),
    overall: groupMetrics('all', inRange),
  }
}

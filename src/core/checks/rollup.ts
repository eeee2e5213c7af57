import type { CheckStatus } from './types.js'

/** Aggregates of the checks of one monitor in one time bucket. */
export interface RollupStats {
  count: number
  failures: number
  degraded: number
  latencySum: number
  latencyP50: number
  latencyP95: number
  latencyMax: number
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  // Nearest-rank: the smallest value with at least p of the samples at or below it.
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[rank - 1] as number
}

/** Summarises raw results: counts by status and exact latency percentiles (nearest rank). */
export function summarizeResults(
  results: readonly { status: CheckStatus; latencyMs: number }[],
): RollupStats {
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b)
  let failures = 0
  let degraded = 0
  let latencySum = 0
  for (const r of results) {
    if (r.status === 'down') failures++
    else if (r.status === 'degraded') degraded++
    latencySum += r.latencyMs
  }
  return {
    count: results.length,
    failures,
    degraded,
    latencySum,
    latencyP50: percentile(latencies, 0.5),
    latencyP95: percentile(latencies, 0.95),
    latencyMax: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : 0,
  }
}

function weightedPercentile(pairs: { value: number; weight: number }[], p: number): number {
  const total = pairs.reduce((sum, x) => sum + x.weight, 0)
  if (total === 0) return 0
  const sorted = [...pairs].sort((a, b) => a.value - b.value)
  let seen = 0
  for (const pair of sorted) {
    seen += pair.weight
    if (seen >= p * total) return pair.value
  }
  return (sorted[sorted.length - 1] as { value: number }).value
}

/**
 * Merges finer buckets into a coarser one. Counts, sums and max are exact; p50 and p95 are the
 * count-weighted percentiles of the finer buckets' percentiles, a close and cheap approximation
 * (raw samples are gone by the time hours and days are rolled up).
 */
export function mergeRollups(parts: readonly RollupStats[]): RollupStats {
  const withData = parts.filter((p) => p.count > 0)
  return {
    count: withData.reduce((s, p) => s + p.count, 0),
    failures: withData.reduce((s, p) => s + p.failures, 0),
    degraded: withData.reduce((s, p) => s + p.degraded, 0),
    latencySum: withData.reduce((s, p) => s + p.latencySum, 0),
    latencyP50: weightedPercentile(
      withData.map((p) => ({ value: p.latencyP50, weight: p.count })),
      0.5,
    ),
    latencyP95: weightedPercentile(
      withData.map((p) => ({ value: p.latencyP95, weight: p.count })),
      0.95,
    ),
    latencyMax: withData.reduce((m, p) => Math.max(m, p.latencyMax), 0),
  }
}

/** Uptime as a fraction of checks that were not down (degraded counts as up), or undefined. */
export function uptimeRatio(stats: Pick<RollupStats, 'count' | 'failures'>): number | undefined {
  return stats.count === 0 ? undefined : (stats.count - stats.failures) / stats.count
}

import { describe, expect, it } from 'vitest'
import { mergeRollups, summarizeResults, uptimeRatio, type RollupStats } from './rollup.js'
import type { CheckStatus } from './types.js'

type Result = { status: CheckStatus; latencyMs: number }

const up = (latencyMs: number): Result => ({ status: 'up', latencyMs })
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

const empty: RollupStats = {
  count: 0,
  failures: 0,
  degraded: 0,
  latencySum: 0,
  latencyP50: 0,
  latencyP95: 0,
  latencyMax: 0,
}

describe('summarizeResults', () => {
  it('summarises no results as zeros', () => {
    expect(summarizeResults([])).toEqual(empty)
  })

  it.each([
    { name: 'one sample is every percentile', latencies: [42], p50: 42, p95: 42, max: 42 },
    {
      name: 'of two samples p50 is the lower and p95 the upper',
      latencies: [100, 10],
      p50: 10,
      p95: 100,
      max: 100,
    },
    {
      name: 'of three unsorted samples p50 is the middle one',
      latencies: [30, 10, 20],
      p50: 20,
      p95: 30,
      max: 30,
    },
    {
      name: 'of four samples p50 is the second, not an average',
      latencies: [1, 2, 3, 4],
      p50: 2,
      p95: 4,
      max: 4,
    },
    {
      name: 'of ten samples p95 rounds its rank up to the tenth',
      latencies: range(1, 10),
      p50: 5,
      p95: 10,
      max: 10,
    },
    {
      name: 'of twenty samples p95 is the nineteenth',
      latencies: range(1, 20),
      p50: 10,
      p95: 19,
      max: 20,
    },
    {
      name: 'of a hundred samples p95 is the ninety-fifth',
      latencies: range(1, 100).reverse(),
      p50: 50,
      p95: 95,
      max: 100,
    },
    {
      name: 'repeated values are counted each time',
      latencies: [5, 5, 5, 900],
      p50: 5,
      p95: 900,
      max: 900,
    },
  ])('$name', ({ latencies, p50, p95, max }) => {
    const stats = summarizeResults(latencies.map(up))
    expect(stats).toMatchObject({ latencyP50: p50, latencyP95: p95, latencyMax: max })
    expect(stats.latencySum).toBe(latencies.reduce((a, b) => a + b, 0))
  })

  it.each([
    {
      name: 'down results count as failures and degraded ones as degraded',
      results: [
        up(10),
        { status: 'down', latencyMs: 20 },
        { status: 'degraded', latencyMs: 30 },
        up(40),
      ],
      counts: { count: 4, failures: 1, degraded: 1, latencySum: 100 },
    },
    {
      name: 'all results down are all failures',
      results: [
        { status: 'down', latencyMs: 0 },
        { status: 'down', latencyMs: 5_000 },
      ],
      counts: { count: 2, failures: 2, degraded: 0, latencySum: 5_000 },
    },
  ] satisfies { name: string; results: Result[]; counts: Partial<RollupStats> }[])(
    '$name',
    ({ results, counts }) => {
      expect(summarizeResults(results)).toMatchObject(counts)
    },
  )

  it('does not reorder the results it is given', () => {
    const results = [up(3), up(1), up(2)]
    summarizeResults(results)
    expect(results.map((r) => r.latencyMs)).toEqual([3, 1, 2])
  })
})

const statuses: CheckStatus[] = ['up', 'up', 'down', 'degraded', 'up', 'up', 'up']
const raw: Result[] = range(1, 60).map((i) => ({
  status: statuses[i % statuses.length] as CheckStatus,
  latencyMs: (i * 37) % 101,
}))

describe('mergeRollups', () => {
  it('merges nothing into zeros', () => {
    expect(mergeRollups([])).toEqual(empty)
  })

  it.each([
    { name: 'one bucket', cuts: [] },
    { name: 'two equal buckets', cuts: [30] },
    { name: 'uneven buckets', cuts: [1, 7, 40] },
    { name: 'one bucket per result', cuts: range(1, 59) },
  ])('counts, sums and max of $name are exactly those of the raw results', ({ cuts }) => {
    const edges = [0, ...cuts, raw.length]
    const parts = edges.slice(1).map((end, i) => summarizeResults(raw.slice(edges[i], end)))
    const whole = summarizeResults(raw)
    const merged = mergeRollups(parts)
    expect({ ...merged, latencyP50: 0, latencyP95: 0 }).toEqual({
      ...whole,
      latencyP50: 0,
      latencyP95: 0,
    })
  })

  it('merging one bucket gives that bucket back', () => {
    const bucket = summarizeResults(raw)
    expect(mergeRollups([bucket])).toEqual(bucket)
  })

  it('ignores empty buckets', () => {
    const bucket = summarizeResults(raw.slice(0, 10))
    expect(mergeRollups([empty, bucket, empty])).toEqual(bucket)
  })

  it.each([
    {
      name: 'p50 is the bucket value reached at half of the checks',
      parts: [
        { count: 1, latencyP50: 10, latencyP95: 10 },
        { count: 3, latencyP50: 20, latencyP95: 20 },
      ],
      p50: 20,
      p95: 20,
    },
    {
      name: 'a bucket holding exactly half of the checks gives p50',
      parts: [
        { count: 2, latencyP50: 10, latencyP95: 10 },
        { count: 2, latencyP50: 20, latencyP95: 20 },
      ],
      p50: 10,
      p95: 20,
    },
    {
      name: 'a slow bucket with few checks does not move p95',
      parts: [
        { count: 99, latencyP50: 50, latencyP95: 100 },
        { count: 1, latencyP50: 5_000, latencyP95: 5_000 },
      ],
      p50: 50,
      p95: 100,
    },
    {
      name: 'a slow bucket with most checks sets p95',
      parts: [
        { count: 1, latencyP50: 50, latencyP95: 100 },
        { count: 99, latencyP50: 4_000, latencyP95: 5_000 },
      ],
      p50: 4_000,
      p95: 5_000,
    },
    {
      name: 'buckets are weighed in latency order, not in the order given',
      parts: [
        { count: 5, latencyP50: 300, latencyP95: 300 },
        { count: 5, latencyP50: 100, latencyP95: 100 },
        { count: 10, latencyP50: 200, latencyP95: 200 },
      ],
      p50: 200,
      p95: 300,
    },
  ])('$name', ({ parts, p50, p95 }) => {
    const merged = mergeRollups(
      parts.map((p) => ({
        ...empty,
        ...p,
        latencySum: p.count * p.latencyP50,
        latencyMax: p.latencyP95,
      })),
    )
    expect(merged).toMatchObject({ latencyP50: p50, latencyP95: p95 })
  })
})

describe('uptimeRatio', () => {
  it.each([
    { name: 'no checks have no uptime', stats: { count: 0, failures: 0 }, ratio: undefined },
    { name: 'no failures is full uptime', stats: { count: 10, failures: 0 }, ratio: 1 },
    { name: 'one failure in ten is 90 %', stats: { count: 10, failures: 1 }, ratio: 0.9 },
    { name: 'every check failing is zero', stats: { count: 4, failures: 4 }, ratio: 0 },
  ])('$name', ({ stats, ratio }) => {
    expect(uptimeRatio(stats)).toBe(ratio)
  })

  it('counts degraded checks as up', () => {
    const stats = summarizeResults([
      up(1),
      { status: 'degraded', latencyMs: 1 },
      { status: 'degraded', latencyMs: 1 },
      { status: 'down', latencyMs: 1 },
    ])
    expect(uptimeRatio(stats)).toBe(0.75)
  })
})

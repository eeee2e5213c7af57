/** Milliseconds since the Unix epoch; the only representation of time inside Keel's core. */
export type Instant = number

/** A source of the current time, passed to everything outside core that needs it. */
export interface Clock {
  now(): Instant
}

const unitMs: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/

/**
 * Parses a Go-style duration such as `250ms`, `20s`, `1h30m` or `2d` into milliseconds.
 * Returns undefined for anything else, so callers can report the field that held it.
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim()
  if (rest === '') return undefined
  if (rest === '0') return 0
  let total = 0
  while (rest.length > 0) {
    const match = durationPattern.exec(rest)
    if (!match) return undefined
    total += Number(match[1]) * (unitMs[match[2] as string] as number)
    rest = rest.slice(match[0].length)
  }
  // Hundreds of digits overflow to Infinity, which is no duration.
  return Number.isFinite(total) ? Math.round(total) : undefined
}

/**
 * Formats milliseconds as the shortest readable duration (`1h30m`, `20s`, `250ms`, `1s500ms`).
 * Exact to the millisecond, so a bound message never reads "must be ≤ 1d, got 1d".
 */
export function formatDuration(ms: number): string {
  const total = Math.round(ms)
  if (total < 1000) return `${total}ms`
  const parts: string[] = []
  let rest = Math.floor(total / 1000)
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`)
      rest %= seconds
    }
  }
  if (total % 1000 > 0) parts.push(`${total % 1000}ms`)
  return parts.join('')
}

const units: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
]

/**
 * Formats a measured duration for a message with at most two units (`9d23h`, `2m5s`, `1.24s`,
 * `812ms`); unlike `formatDuration` it favours reading over exactness.
 */
export function roughDuration(ms: number): string {
  const value = Math.abs(ms)
  const sign = ms < 0 ? '-' : ''
  if (value < 1_000) return `${sign}${Math.round(value)}ms`
  if (value < 60_000) return `${sign}${Number((value / 1_000).toFixed(2))}s`
  const index = units.findIndex(([, size]) => value >= size)
  const [bigUnit, bigSize] = units[index] as [string, number]
  const [smallUnit, smallSize] = units[index + 1] as [string, number]
  const big = Math.floor(value / bigSize)
  const small = Math.floor((value % bigSize) / smallSize)
  return `${sign}${big}${bigUnit}${small > 0 ? `${small}${smallUnit}` : ''}`
}

/** "12s ago", "5m ago", "3h ago", "2d ago" relative to `now`. */
export function ago(at: number | undefined, now: number): string {
  if (at === undefined) return 'never'
  const s = Math.max(0, Math.round((now - at) / 1000))
  if (s < 5) return 'just now'
  if (s < 60) return `${s}s ago`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ago`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ago`
  return `${Math.floor(h / 24)}d ago`
}

/** "for 5m", "for 3h 20m" since `since`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** A latency such as "42 ms" or "1.3 s". */
export function latency(ms: number | undefined): string {
  if (ms === undefined) return '–'
  if (ms < 1) return '<1 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
})

/** A local date and time, for tables and tooltips. */
export function when(at: number | undefined): string {
  return at === undefined ? '–' : dateTime.format(at)
}

/** The labels of a monitor spec as `key=value` pairs. */
export function labelsOf(spec: Record<string, unknown>): [string, string][] {
  const labels = spec.labels
  if (!labels || typeof labels !== 'object') return []
  return Object.entries(labels as Record<string, unknown>).map(([k, v]) => [k, String(v)])
}

/** What a monitor checks, in a few words: its URL, host:port or the like. */
export function targetOf(spec: Record<string, unknown>): string {
  for (const key of ['url', 'command', 'query']) {
    if (typeof spec[key] === 'string') return spec[key] as string
  }
  if (typeof spec.host === 'string') {
    return spec.port !== undefined ? `${spec.host}:${String(spec.port)}` : spec.host
  }
  if (typeof spec.name === 'string' && typeof spec.type === 'string' && spec.type === 'dns') {
    return spec.name
  }
  return ''
}

/** How an uptime ratio is coloured, with the status page's thresholds. */
export type UptimeLevel = 'none' | 'full' | 'high' | 'low' | 'bad'

/** The colour class of an uptime ratio (undefined: no checks ran). */
export function uptimeLevel(uptime: number | undefined): UptimeLevel {
  if (uptime === undefined) return 'none'
  if (uptime >= 0.999) return 'full'
  if (uptime >= 0.99) return 'high'
  if (uptime >= 0.95) return 'low'
  return 'bad'
}

/** An uptime ratio as "99.95%", never rounding a failure up to 100; "–" without data. */
export function uptimePercent(uptime: number | undefined): string {
  if (uptime === undefined) return '–'
  // The epsilon undoes binary float error (0.29 * 100 is 28.999…), not a real shortfall.
  const hundredths = Math.floor(uptime * 10_000 + 1e-6)
  return hundredths === 10_000 ? '100%' : `${(hundredths / 100).toFixed(2)}%`
}

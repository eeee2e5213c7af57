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

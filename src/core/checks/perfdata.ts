import type { CheckStatus, Metric } from './types.js'

/** Nagios plugin output split as the plugin guidelines define it. */
export interface PluginOutput {
  /** The first line before any `|`: the status text an operator sees. */
  text: string
  /** The remaining lines of text (the guidelines' "long text"), without perfdata. */
  longText: string[]
  metrics: Metric[]
  /** Labels whose value was `U` (the plugin could not determine it). */
  unknown: string[]
  /** One sentence per perfdata item that could not be parsed, or was parsed with a caveat. */
  problems: string[]
}

/** The metrics parsed from a perfdata string, with what was skipped and why. */
export interface PerfdataResult {
  metrics: Metric[]
  unknown: string[]
  problems: string[]
}

/** A Nagios plugin's exit status by name. */
export type PluginState = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN'

const units = new Set(['', 's', 'ms', 'us', '%', 'B', 'KB', 'MB', 'GB', 'TB', 'c'])
const valuePattern = /^([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)([a-zA-Z%]*)$/
const numberPattern = /^[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?$/
// A threshold range: `10`, `10:`, `~:10`, `10:20`, `@10:20` (plugin guidelines, "Threshold and ranges").
const rangePattern =
  /^@?(?:~|[-+]?(?:\d+(?:\.\d*)?|\.\d+))?(?::(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+))?)?$/

function toNumber(text: string): number {
  // Some plugins print numbers in the machine's locale; a comma is then the decimal separator.
  return Number(text.replace(',', '.'))
}

interface Token {
  label: string
  rest: string
}

function tokenize(text: string, problems: string[]): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] as string)) i++
    if (i >= text.length) break
    let label = ''
    if (text[i] === "'") {
      i++
      let closed = false
      while (i < text.length) {
        if (text[i] === "'") {
          // Two single quotes inside a quoted label stand for one.
          if (text[i + 1] === "'") {
            label += "'"
            i += 2
            continue
          }
          closed = true
          i++
          break
        }
        label += text[i]
        i++
      }
      if (!closed) {
        problems.push(`perfdata label '${label} has no closing quote`)
        break
      }
    } else {
      const start = i
      while (i < text.length && text[i] !== '=' && !/\s/.test(text[i] as string)) i++
      label = text.slice(start, i)
    }
    const start = i
    while (i < text.length && !/\s/.test(text[i] as string)) i++
    const item = text.slice(start, i)
    if (!item.startsWith('=')) {
      problems.push(
        `perfdata item "${label}${item}" has no "=value"; expected 'label'=value[UOM];warn;crit;min;max`,
      )
      continue
    }
    tokens.push({ label, rest: item.slice(1) })
  }
  return tokens
}

/** Parses a perfdata string (`'label'=value[UOM];warn;crit;min;max ...`) without throwing. */
export function parsePerfdata(text: string): PerfdataResult {
  const metrics: Metric[] = []
  const unknown: string[] = []
  const problems: string[] = []
  for (const { label, rest } of tokenize(text, problems)) {
    if (label === '') {
      problems.push(`perfdata item "=${rest}" has an empty label`)
      continue
    }
    const [valueText = '', warn = '', crit = '', min = '', max = '', ...extra] = rest.split(';')
    if (valueText === 'U') {
      unknown.push(label)
      continue
    }
    const match = valuePattern.exec(valueText)
    if (!match) {
      problems.push(`perfdata '${label}' has value "${valueText}", which is not a number or U`)
      continue
    }
    const unit = match[2] as string
    const metric: Metric = { label, value: toNumber(match[1] as string) }
    if (unit !== '') metric.unit = unit
    if (!units.has(unit)) {
      problems.push(
        `perfdata '${label}' uses unit "${unit}", which is not one of s, ms, us, %, B, KB, MB, GB, TB, c`,
      )
    }
    for (const [name, range] of [
      ['warn', warn],
      ['crit', crit],
    ] as const) {
      if (range === '') continue
      if (rangePattern.test(range)) metric[name] = range
      else
        problems.push(`perfdata '${label}' has ${name} threshold "${range}", which is not a range`)
    }
    for (const [name, bound] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (bound === '') continue
      // Plugins sometimes repeat the unit on min and max (`0MB`); the unit is already known.
      const bare = bound.endsWith(unit) && unit !== '' ? bound.slice(0, -unit.length) : bound
      if (numberPattern.test(bare)) metric[name] = toNumber(bare)
      else problems.push(`perfdata '${label}' has ${name} "${bound}", which is not a number`)
    }
    if (extra.some((field) => field !== '')) {
      problems.push(
        `perfdata '${label}' has more than five ";"-separated fields; extra ones were ignored`,
      )
    }
    metrics.push(metric)
  }
  return { metrics, unknown, problems }
}

/**
 * Splits Nagios plugin output into status text, long text and perfdata. Perfdata may follow a
 * `|` on the first line and, after a `|` on a later line, fills the rest of the output.
 */
export function parsePluginOutput(output: string): PluginOutput {
  const lines = output.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n')
  const first = lines[0] ?? ''
  const bar = first.indexOf('|')
  const text = (bar === -1 ? first : first.slice(0, bar)).trim()
  const perfdata: string[] = bar === -1 ? [] : [first.slice(bar + 1)]
  const longText: string[] = []
  let inPerfdata = false
  for (const line of lines.slice(1)) {
    if (inPerfdata) {
      perfdata.push(line)
      continue
    }
    const lineBar = line.indexOf('|')
    if (lineBar === -1) {
      longText.push(line)
      continue
    }
    if (line.slice(0, lineBar).trim() !== '') longText.push(line.slice(0, lineBar).trimEnd())
    perfdata.push(line.slice(lineBar + 1))
    inPerfdata = true
  }
  const parsed = parsePerfdata(perfdata.join(' '))
  while (longText.length > 0 && (longText[longText.length - 1] as string).trim() === '')
    longText.pop()
  return { text, longText, ...parsed }
}

/** Names a plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, anything else UNKNOWN. */
export function exitCodeState(code: number | null | undefined): PluginState {
  if (code === 0) return 'OK'
  if (code === 1) return 'WARNING'
  if (code === 2) return 'CRITICAL'
  return 'UNKNOWN'
}

/** Maps a plugin exit code to a check status: OK up, WARNING degraded, CRITICAL and UNKNOWN down. */
export function exitCodeStatus(code: number | null | undefined): CheckStatus {
  const state = exitCodeState(code)
  if (state === 'OK') return 'up'
  if (state === 'WARNING') return 'degraded'
  return 'down'
}

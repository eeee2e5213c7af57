import { stringify } from 'yaml'
import { secretFieldsOf } from '../config/redact.js'
import { userinfoPasswordSpan } from '../core/config/index.js'
import { listChannels } from '../store/channels.js'
import type { Executor } from '../store/dialect.js'
import { listMonitors } from '../store/monitors.js'

/** Options of `exportConfig`. */
export interface ExportConfigOptions {
  /** Also export objects that came from keel.yaml files (by default only API-created ones). */
  all?: boolean
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The `${ENV}` name a secret is exported as: `DB_MAIN_PASSWORD`, `OPS_HOOK_HEADERS_AUTHORIZATION`. */
export function secretVariableName(id: string, path: readonly string[]): string {
  return [id, ...path]
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
}

function placeholders(value: unknown, id: string, path: string[], names: string[]): unknown {
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        placeholders(item, id, [...path, key], names),
      ]),
    )
  }
  const name = secretVariableName(id, path)
  names.push(name)
  return `\${${name}}`
}

/** Replaces the password of each URL in `value` (`https://u:pw@host/`) with a `${NAME}` placeholder. */
function urlPasswordPlaceholders(
  value: unknown,
  id: string,
  path: string[],
  names: string[],
): unknown {
  if (typeof value === 'string') {
    const span = userinfoPasswordSpan(value)
    if (!span) return value
    const name = secretVariableName(id, [...path, 'password'])
    names.push(name)
    return `${value.slice(0, span[0])}\${${name}}${value.slice(span[1])}`
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => urlPasswordPlaceholders(item, id, [...path, String(i)], names))
  }
  if (!isRecord(value)) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      urlPasswordPlaceholders(item, id, [...path, key], names),
    ]),
  )
}

function withPlaceholders(
  section: 'monitors' | 'channels',
  id: string,
  spec: Record<string, unknown>,
  names: string[],
): Record<string, unknown> {
  const copy = structuredClone(spec)
  for (const field of secretFieldsOf(section, String(spec.type))) {
    const keys = field.split('.')
    let holder: unknown = copy
    for (const key of keys.slice(0, -1)) holder = isRecord(holder) ? holder[key] : undefined
    const last = keys[keys.length - 1] as string
    if (isRecord(holder) && holder[last] !== undefined) {
      holder[last] = placeholders(holder[last], id, keys, names)
    }
  }
  // The password in a URL's userinfo is a secret too, whatever field holds the URL; it is
  // exported as written in the URL (percent-encoded where needed), so set the variable that way.
  return urlPasswordPlaceholders(copy, id, [], names) as Record<string, unknown>
}

/**
 * The config-as-code view of the store as keel.yaml text: API-created monitors and channels
 * (all of them with `all`), every secret replaced by a `${NAME}` placeholder listed at the top,
 * so the output is safe to print and commit and `keel apply` reads it back once the variables
 * are set. Secrets never leave the store in clear.
 */
export async function exportConfig(
  db: Executor,
  options: ExportConfigOptions = {},
): Promise<string> {
  const keep = (source: string) => options.all === true || !source.startsWith('file:')
  const names: string[] = []
  const channels: Record<string, unknown> = {}
  for (const channel of await listChannels(db)) {
    if (keep(channel.source))
      channels[channel.slug] = withPlaceholders('channels', channel.slug, channel.spec, names)
  }
  const monitors: Record<string, unknown> = {}
  for (const monitor of await listMonitors(db)) {
    if (keep(monitor.source))
      monitors[monitor.slug] = withPlaceholders('monitors', monitor.slug, monitor.spec, names)
  }
  const header = [
    '# Exported by `keel export`. Secrets are ${NAME} placeholders; set these variables before `keel apply`:',
    ...(names.length > 0 ? names.map((name) => `#   ${name}`) : ['#   (none)']),
  ]
  return `${header.join('\n')}\n${stringify({ channels, monitors })}`
}

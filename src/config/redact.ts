import { channels } from '../channels/index.js'
import { probes } from '../checks/registry.js'
import {
  formatPath,
  redactPaths,
  redactUserinfoPassword,
  userinfoPasswordSpan,
  type PathSegment,
} from '../core/config/index.js'
import type { KeelConfig } from './schema.js'

/** What a secret is replaced with in output. */
export const redactedPlaceholder = '<redacted>'

/** A config section whose entries name their definition by `type`. */
export type SecretSection = 'monitors' | 'channels'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The secret field paths (`password`, `basicAuth.password`) of a monitor or channel type. */
export function secretFieldsOf(section: SecretSection, type: string): readonly string[] {
  if (section === 'monitors') return probes.find((probe) => probe.type === type)?.secretFields ?? []
  return channels.find((channel) => channel.kind === type)?.secretFields ?? []
}

function coveredBy(path: string, field: string): boolean {
  return path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)
}

/**
 * Whether a path inside one monitor or channel (`basicAuth.password`, `headers.Authorization`)
 * is, or lies inside, one of its type's secret fields.
 */
export function isSecretPath(section: SecretSection, spec: unknown, path: string): boolean {
  if (!isRecord(spec) || typeof spec.type !== 'string') return false
  return secretFieldsOf(section, spec.type).some((field) => coveredBy(path, field))
}

/** Whether a path in a whole config, parsed or as written, holds a secret. */
export function isSecretConfigPath(config: unknown, segments: readonly PathSegment[]): boolean {
  const [section, id, ...rest] = segments
  if (section === 'store') return id === 'url'
  if (section === 'auth') return id === 'oidc' && rest[0] === 'clientSecret'
  if ((section !== 'monitors' && section !== 'channels') || typeof id !== 'string') return false
  if (!isRecord(config) || !isRecord(config[section])) return false
  return isSecretPath(section, config[section][id], formatPath(rest))
}

/** Replaces the password in a connection URL, in the userinfo part and in a `password` parameter. */
export function redactUrlPassword(url: string): string {
  return redactUserinfoPassword(url, redactedPlaceholder).replace(
    /([?&]password=)[^&#]*/i,
    `$1${redactedPlaceholder}`,
  )
}

/** A copy of `value` with `change` applied to every string in it, however deep. */
function mapStrings(value: unknown, change: (text: string, path: string[]) => string): unknown {
  const walk = (item: unknown, path: string[]): unknown => {
    if (typeof item === 'string') return change(item, path)
    if (Array.isArray(item)) return item.map((entry, i) => walk(entry, [...path, String(i)]))
    if (!isRecord(item)) return item
    return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v, [...path, k])]))
  }
  return walk(value, [])
}

/** A copy of `value` with the password of every URL in it, however deep, `<redacted>`. */
export function redactUrlPasswords<T>(value: T): T {
  return mapStrings(value, (text) => redactUserinfoPassword(text, redactedPlaceholder)) as T
}

/**
 * A copy of a monitor or channel spec with each of its type's secret fields `<redacted>`, and the
 * password of any URL in its other fields (`https://user:<redacted>@host/`).
 */
export function redactSecrets<T extends Record<string, unknown>>(
  section: SecretSection,
  spec: T,
): T {
  if (typeof spec.type !== 'string') return spec
  return redactUrlPasswords(
    redactPaths(spec, secretFieldsOf(section, spec.type), redactedPlaceholder),
  )
}

/** What {@link keepRedactedUrlPasswords} made of a submitted spec. */
export interface KeptUrlPasswords<T> {
  spec: T
  /** Dotted paths of URLs whose password is still `<redacted>` but whose stored URL differs. */
  unresolved: string[]
}

/**
 * Puts the stored password back into each URL of `submitted` that carries `<redacted>` as its
 * userinfo password, as a round trip of the redacted view does. Only a URL that is otherwise the
 * same as the stored one at the same path gets it back, so an edit cannot send the password to
 * another host or user; the rest are listed in `unresolved` for the caller to refuse.
 */
export function keepRedactedUrlPasswords<T>(submitted: T, stored: unknown): KeptUrlPasswords<T> {
  const unresolved: string[] = []
  const spec = mapStrings(submitted, (text, path) => {
    const span = userinfoPasswordSpan(text)
    if (!span || text.slice(span[0], span[1]) !== redactedPlaceholder) return text
    let before: unknown = stored
    for (const key of path) {
      before = isRecord(before) || Array.isArray(before) ? (before as never)[key] : undefined
    }
    if (
      typeof before === 'string' &&
      redactUserinfoPassword(before, redactedPlaceholder) === text
    ) {
      return before
    }
    unresolved.push(path.join('.'))
    return text
  }) as T
  return { spec, unresolved }
}

/**
 * A copy of a config with every secret replaced by `<redacted>`: the secret fields each monitor
 * and channel type declares, and the password in a PostgreSQL URL. Safe to print or serve.
 */
export function redactConfig(config: KeelConfig): unknown {
  const copy = structuredClone(config) as unknown
  if (!isRecord(copy)) return copy
  for (const section of ['monitors', 'channels'] as const) {
    const entries = copy[section]
    if (!isRecord(entries)) continue
    for (const spec of Object.values(entries)) {
      if (isRecord(spec) && typeof spec.type === 'string') {
        Object.assign(spec, redactSecrets(section, spec))
      }
    }
  }
  if (isRecord(copy.store) && typeof copy.store.url === 'string') {
    copy.store.url = redactUrlPassword(copy.store.url)
  }
  return copy
}

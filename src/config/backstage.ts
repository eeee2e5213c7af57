import { parseAllDocuments } from 'yaml'
import { entitySpecSchema, type Entity, type EntityKind } from '../core/catalog/index.js'
import { isAllowedKey, reservedKeyMessage } from '../core/reserved-keys.js'

/** A Backstage Group, kept as a team name an entity's owner can point at. */
export interface BackstageTeam {
  id: string
  name: string
}

/** What one catalog-info.yaml held: entities, teams, and what was skipped or wrong. */
export interface BackstageImport {
  entities: Entity[]
  teams: BackstageTeam[]
  /** Documents skipped on purpose (kinds Keel does not model), one sentence each. */
  warnings: string[]
  /** Problems that stop the import, each naming file, document, entity and field. */
  errors: string[]
  /** `providesApis` links: the API depends on the component; applied across files too. */
  provides: { api: string; component: string }[]
}

const resourceKinds: [RegExp, EntityKind][] = [
  [/^(database|db|postgres(ql)?|mysql|mariadb|redis|mongodb|cassandra|elasticsearch)$/, 'database'],
  [/^(queue|topic|kafka(-topic)?|sqs(-queue)?|message-queue|rabbitmq|nats)$/, 'queue'],
  [/^(storage|bucket|s3(-bucket)?|filesystem|nfs|volume|object-storage)$/, 'storage'],
  [/^(host|server|vm|virtual-machine|bare-metal|node)$/, 'host'],
  [/^(network|network-device|router|switch|firewall|load-balancer|vpn)$/, 'network-device'],
  [/^(endpoint|endpoint-device|laptop|workstation|desktop|printer)$/, 'endpoint-device'],
  [/^(website|web)$/, 'website'],
  [/^(service|api)$/, 'service'],
]

/** The Keel kind a Backstage kind and `spec.type` map to (documented in docs/catalog.md). */
export function keelKindOf(kind: string, type: string | undefined): EntityKind | undefined {
  const lowerType = (type ?? '').toLowerCase()
  switch (kind.toLowerCase()) {
    case 'component':
      return lowerType === 'website' ? 'website' : 'service'
    case 'api':
      return 'api'
    case 'system':
      return 'system'
    case 'resource':
      return resourceKinds.find(([pattern]) => pattern.test(lowerType))?.[1] ?? 'cloud-resource'
    default:
      return undefined
  }
}

/** A parsed entity reference, `[kind:][namespace/]name` as Backstage writes them. */
export interface EntityRef {
  kind?: string
  namespace: string
  name: string
}

const refPattern =
  /^(?:([A-Za-z][A-Za-z0-9-]*):)?(?:([A-Za-z0-9][A-Za-z0-9._-]*)\/)?([A-Za-z0-9][A-Za-z0-9._-]*)$/

/** Parses `resource:default/db-main`, `component:payments` or `team-db`; undefined when malformed. */
export function parseEntityRef(ref: string): EntityRef | undefined {
  const match = refPattern.exec(ref.trim())
  if (!match) return undefined
  return {
    ...(match[1] ? { kind: match[1].toLowerCase() } : {}),
    namespace: (match[2] ?? 'default').toLowerCase(),
    name: (match[3] as string).toLowerCase(),
  }
}

/**
 * The Keel id of a Backstage entity: its name, lower-cased (Backstage compares names without
 * case), prefixed by its namespace when that is not `default`.
 */
export function keelIdOf(ref: EntityRef): string {
  return ref.namespace === 'default' ? ref.name : `${ref.namespace}.${ref.name}`
}

type UnknownRecord = Record<string, unknown>

function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Backstage label keys may hold `/` and `.`; Keel's follow Prometheus, so those become `_`. */
function labelKey(key: string): string {
  const cleaned = key.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const skippedKinds = new Set(['domain', 'user', 'location', 'template'])

/**
 * Parses a Backstage catalog file (one or more YAML documents, unchanged from a repository) into
 * Keel entities: Component, Resource, System and API become entities, Group becomes a team name;
 * other kinds are skipped with a warning. `dependsOn` and `consumesApis` become `dependsOn`, and
 * an API depends on the components that list it in `providesApis`.
 */
export function parseBackstageCatalog(text: string, file: string): BackstageImport {
  const result: BackstageImport = {
    entities: [],
    teams: [],
    warnings: [],
    errors: [],
    provides: [],
  }
  const documents = parseAllDocuments(text)
  if (!Array.isArray(documents)) {
    result.errors.push(`${file}: not a YAML stream of catalog documents`)
    return result
  }
  documents.forEach((doc, index) => {
    const where = `${file}: document ${index + 1}`
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const at = error.linePos?.[0]
        const message = error.message.replace(/ at line \d+, column \d+[\s\S]*$/, '')
        result.errors.push(
          `${file}${at ? `:${at.line}:${at.col}` : ''}: document ${index + 1}: ${message}`,
        )
      }
      return
    }
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return
    if (!isRecord(value)) {
      result.errors.push(`${where}: must be a map with apiVersion, kind, metadata and spec`)
      return
    }
    const apiVersion = value.apiVersion
    if (typeof apiVersion !== 'string' || !apiVersion.startsWith('backstage.io/')) {
      result.errors.push(
        `${where}: apiVersion must be backstage.io/v1alpha1 (or another backstage.io/ version), got ${JSON.stringify(apiVersion)}`,
      )
      return
    }
    const kind = value.kind
    const metadata = value.metadata
    const name = isRecord(metadata) ? metadata.name : undefined
    if (typeof kind !== 'string' || kind === '') {
      result.errors.push(`${where}: kind must be a string such as Component or Resource`)
      return
    }
    if (typeof name !== 'string' || parseEntityRef(name) === undefined || name.includes('/')) {
      result.errors.push(
        `${where} (${kind}): metadata.name must be a name of letters, digits, ".", "_" or "-", got ${JSON.stringify(name)}`,
      )
      return
    }
    if (!isAllowedKey(name.toLowerCase())) {
      result.errors.push(`${where} (${kind}): metadata.name ${reservedKeyMessage(name)}`)
      return
    }
    const meta = metadata as UnknownRecord
    const namespace = typeof meta.namespace === 'string' ? meta.namespace.toLowerCase() : 'default'
    const id = keelIdOf({ namespace, name: name.toLowerCase() })
    const what = `${where} (${kind} ${name})`
    const spec = isRecord(value.spec) ? value.spec : {}
    if (kind.toLowerCase() === 'group') {
      const profile = isRecord(spec.profile) ? spec.profile : {}
      const display = profile.displayName ?? meta.title
      result.teams.push({ id, name: typeof display === 'string' ? display : id })
      return
    }
    const type = typeof spec.type === 'string' ? spec.type : undefined
    const keelKind = keelKindOf(kind, type)
    if (keelKind === undefined) {
      result.warnings.push(
        `${what}: kind ${kind} is not imported; Keel imports Component, Resource, System, API and Group${skippedKinds.has(kind.toLowerCase()) ? '' : ' (check the spelling)'}`,
      )
      return
    }
    const errorsBefore = result.errors.length
    const fieldError = (field: string, message: string) =>
      result.errors.push(`${what}: ${field} ${message}`)
    const refs = (field: string, defaultKind: string): string[] => {
      const list = spec[field]
      if (list === undefined) return []
      if (!Array.isArray(list)) {
        fieldError(
          `spec.${field}`,
          `must be a list of entity references, got ${JSON.stringify(list)}`,
        )
        return []
      }
      const ids: string[] = []
      list.forEach((item, i) => {
        const ref = typeof item === 'string' ? parseEntityRef(item) : undefined
        if (ref === undefined) {
          fieldError(
            `spec.${field}[${i}]`,
            `must be an entity reference such as ${defaultKind}:default/db-main, got ${JSON.stringify(item)}`,
          )
        } else ids.push(keelIdOf(ref))
      })
      return ids
    }
    const owner = (() => {
      if (spec.owner === undefined) return undefined
      const ref = typeof spec.owner === 'string' ? parseEntityRef(spec.owner) : undefined
      if (ref === undefined) {
        fieldError(
          'spec.owner',
          `must be a group reference such as group:default/team-db or team-db, got ${JSON.stringify(spec.owner)}`,
        )
        return undefined
      }
      return keelIdOf(ref)
    })()
    const system = (() => {
      if (spec.system === undefined) return undefined
      const ref = typeof spec.system === 'string' ? parseEntityRef(spec.system) : undefined
      if (ref === undefined) {
        fieldError(
          'spec.system',
          `must be a system reference such as payments, got ${JSON.stringify(spec.system)}`,
        )
        return undefined
      }
      return keelIdOf(ref)
    })()
    if (spec.lifecycle !== undefined && typeof spec.lifecycle !== 'string') {
      fieldError(
        'spec.lifecycle',
        `must be a string such as production, got ${JSON.stringify(spec.lifecycle)}`,
      )
    }
    const dependsOn = [...refs('dependsOn', 'resource'), ...refs('consumesApis', 'api')]
    for (const api of refs('providesApis', 'api')) result.provides.push({ api, component: id })
    const labels: Record<string, string> = {}
    if (isRecord(meta.labels)) {
      for (const [key, labelValue] of Object.entries(meta.labels)) {
        if (typeof labelValue === 'string') labels[labelKey(key)] = labelValue
      }
    }
    const tierLabel = /^(?:tier-?)?([1-4])$/.exec(labels.tier ?? '')
    const links: { title?: string; url: string }[] = []
    if (Array.isArray(meta.links)) {
      meta.links.forEach((link, i) => {
        if (!isRecord(link) || typeof link.url !== 'string') {
          fieldError(`metadata.links[${i}]`, 'must have a url')
          return
        }
        links.push({
          url: link.url,
          ...(typeof link.title === 'string' ? { title: link.title } : {}),
        })
      })
    }
    if (result.errors.length > errorsBefore) return
    const candidate = {
      kind: keelKind,
      ...(typeof meta.title === 'string' ? { name: meta.title } : {}),
      ...(typeof meta.description === 'string' ? { description: meta.description.trim() } : {}),
      ...(owner !== undefined ? { owner } : {}),
      ...(tierLabel ? { tier: Number(tierLabel[1]) } : {}),
      ...(typeof spec.lifecycle === 'string' ? { lifecycle: spec.lifecycle.toLowerCase() } : {}),
      ...(system !== undefined ? { system } : {}),
      labels,
      links,
      dependsOn: [...new Set(dependsOn)],
    }
    const parsed = entitySpecSchema.safeParse(candidate)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        fieldError(backstageField(issue.path), issue.message)
      }
      return
    }
    result.entities.push({ id, ...parsed.data })
  })
  applyProvidedApis(result.entities, result.provides)
  return result
}

/** Makes each provided API depend on its provider, among `entities` (which it changes). */
export function applyProvidedApis(
  entities: readonly Entity[],
  provides: readonly { api: string; component: string }[],
): void {
  for (const { api, component } of provides) {
    const entity = entities.find((e) => e.id === api)
    if (entity && entity.id !== component && !entity.dependsOn.includes(component))
      entity.dependsOn.push(component)
  }
}

const backstageFields: Record<string, string> = {
  name: 'metadata.title',
  description: 'metadata.description',
  owner: 'spec.owner',
  lifecycle: 'spec.lifecycle',
  system: 'spec.system',
  labels: 'metadata.labels',
  links: 'metadata.links',
  dependsOn: 'spec.dependsOn',
  tier: 'metadata.labels.tier',
}

/** Names a field of Keel's entity spec by where it came from in the Backstage document. */
function backstageField(path: readonly PropertyKey[]): string {
  const [first, ...rest] = path.map(String)
  const base = backstageFields[first ?? ''] ?? first ?? ''
  return [base, ...rest].join('.')
}

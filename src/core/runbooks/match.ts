import { matchesAll, type Labels } from '../alerts/index.js'
import type { Runbook } from './model.js'

/** True when an alert with these labels matches one of the runbook's `alerts` entries. */
export function runbookAnswersAlert(runbook: Pick<Runbook, 'alerts'>, labels: Labels): boolean {
  return runbook.alerts.some((matchers) => matchers.length > 0 && matchesAll(matchers, labels))
}

/** What to select runbooks by; every given field must match. */
export interface RunbookFilter {
  role?: string
  /** A catalog entity, as `db-main` or `database:db-main`. */
  entity?: string
  /** The entity's kind when the caller knows it, so a runbook naming just `database` matches. */
  entityKind?: string
  labels?: Labels
}

/**
 * True when a runbook's `entities` entry names this entity. Runbooks write `database:db-main`
 * (Backstage style) or plain `db-main`, and a plain kind (`host`) means every entity of that
 * kind; the catalog id is plain. `entity` may come in either form too.
 */
export function runbookNamesEntity(
  entries: readonly string[],
  entity: string,
  kind?: string,
): boolean {
  const colon = entity.indexOf(':')
  const id = colon < 0 ? entity : entity.slice(colon + 1)
  const entityKind = colon < 0 ? kind : entity.slice(0, colon)
  return entries.some((entry) => {
    const at = entry.indexOf(':')
    if (at < 0) return entry === id || (entityKind !== undefined && entry === entityKind)
    return (
      entry.slice(at + 1) === id && (entityKind === undefined || entry.slice(0, at) === entityKind)
    )
  })
}

/** The runbooks that match a filter, in name order. */
export function filterRunbooks<T extends Pick<Runbook, 'name' | 'roles' | 'entities' | 'alerts'>>(
  runbooks: readonly T[],
  filter: RunbookFilter,
): T[] {
  return runbooks
    .filter((r) => filter.role === undefined || r.roles.includes(filter.role))
    .filter(
      (r) =>
        filter.entity === undefined ||
        runbookNamesEntity(r.entities, filter.entity, filter.entityKind),
    )
    .filter((r) => filter.labels === undefined || runbookAnswersAlert(r, filter.labels))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * Warnings for runbook `entities` entries the catalog does not know: a `kind:id` whose id is no
 * entity (or one of another kind), or a plain value that is neither an entity id nor a kind. Such
 * a runbook never shows up for the entity it was written for.
 */
export function unknownRunbookEntities(
  runbooks: readonly Pick<Runbook, 'name' | 'entities'>[],
  catalog: Readonly<Record<string, { kind: string }>>,
): string[] {
  const kinds = new Set(Object.values(catalog).map((entity) => entity.kind))
  const warnings: string[] = []
  for (const runbook of runbooks) {
    for (const entry of runbook.entities) {
      const at = entry.indexOf(':')
      const id = at < 0 ? entry : entry.slice(at + 1)
      const known = catalog[id]
      if (at < 0 ? known !== undefined || kinds.has(entry) : known?.kind === entry.slice(0, at)) {
        continue
      }
      const fix =
        known !== undefined
          ? `entity ${id} is a ${known.kind}: write ${known.kind}:${id} or just ${id}`
          : `no catalog entity has the id ${id}${at < 0 ? ' or the kind ' + entry : ''}; fix the name or add the entity to catalog.entities`
      warnings.push(`runbook ${runbook.name}: entities: ${entry}: ${fix}`)
    }
  }
  return warnings
}

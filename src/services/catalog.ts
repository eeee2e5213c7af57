import { renderDiagramSvg } from '../catalog/diagram-svg.js'
import { parseBackstageCatalog } from '../config/backstage.js'
import {
  buildCatalogGraph,
  catalogHealth,
  entityOfLabels,
  entitySpecSchema,
  impactOf,
  mermaidDiagram,
  neighbourhoodOf,
  type CatalogGraph,
  type DiagramNode,
  type Entity,
  type EntityHealth,
  type EntitySpec,
  type MonitorStateName,
} from '../core/catalog/index.js'
import { ConflictError, InputError, NotFoundError } from '../core/errors.js'
import { listAlerts } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import {
  deleteEntity,
  getEntity,
  listAllEntities,
  listEntities,
  upsertEntity,
  type EntityFilter,
  type StoredEntity,
} from '../store/catalog.js'
import type { Executor } from '../store/dialect.js'
import { getIncident, listOpenIncidentLabels } from '../store/incidents.js'
import { listMonitors } from '../store/monitors.js'
import { requireTeamAccess } from './auth.js'
import type { ServiceContext } from './context.js'
import { isAllowedKey, reservedKeyMessage } from '../core/reserved-keys.js'

/** An entity as the API shows it: stored fields plus its rolled-up health. */
export interface EntityView extends StoredEntity {
  health: EntityHealth
  /** False for entities a config file defines: change those in the file. */
  editable: boolean
}

/** One monitor attached to an entity by its `entity=` (or `service=`) label. */
export interface EntityMonitor {
  id: string
  name: string
  type: string
  state: MonitorStateName
  lastMessage?: string
}

/** An entity with what surrounds it: monitors, links both ways, and what its failure affects. */
export interface EntityDetail extends EntityView {
  monitors: EntityMonitor[]
  /** The entities this one depends on, with their health. */
  dependencies: { id: string; name: string; kind: string; health: EntityHealth }[]
  /** The entities that depend directly on this one, with their health. */
  dependents: { id: string; name: string; kind: string; health: EntityHealth }[]
  /** Open incidents one of whose alerts names this entity (`entity=`, else `service=`), newest first. */
  openIncidents: { id: number; title: string; status: string; severity: string }[]
  /** Firing alerts that name this entity, oldest first. */
  firingAlerts: { fingerprint: string; summary: string; startsAt: number }[]
}

/** One entity affected when another is down. */
export interface ImpactedEntity {
  id: string
  name: string
  kind: string
  health: EntityHealth
  depth: number
  path: string[]
}

const filePrefix = 'file:'

interface CatalogSnapshot {
  entities: StoredEntity[]
  graph: CatalogGraph
  health: Map<string, EntityHealth>
  monitors: {
    id: string
    name: string
    type: string
    entity?: string
    state: MonitorStateName
    lastMessage?: string
  }[]
}

async function snapshot(db: Executor): Promise<CatalogSnapshot> {
  const entities = await listAllEntities(db)
  const monitors = (await listMonitors(db)).map((m) => {
    const labels = (m.spec.labels ?? {}) as Record<string, string>
    const entity = entityOfLabels(labels)
    return {
      id: m.slug,
      name: typeof m.spec.name === 'string' ? m.spec.name : m.slug,
      type: m.type,
      ...(entity !== undefined ? { entity } : {}),
      state: m.runtime.state as MonitorStateName,
      ...(m.lastMessage !== undefined ? { lastMessage: m.lastMessage } : {}),
    }
  })
  const graph = buildCatalogGraph(entities).graph
  const health = catalogHealth(
    entities.map((e) => e.id),
    monitors.map((m) => ({
      labels: m.entity !== undefined ? { entity: m.entity } : ({} as Record<string, string>),
      state: m.state,
    })),
  )
  return { entities, graph, health, monitors }
}

function view(entity: StoredEntity, health: Map<string, EntityHealth>): EntityView {
  return {
    ...entity,
    health: health.get(entity.id) ?? 'unknown',
    editable: !entity.source.startsWith(filePrefix),
  }
}

function displayName(entity: Entity | undefined, id: string): string {
  return entity?.name ?? id
}

/** Entities matching `filter`, by id, a page at a time, each with its health. */
export async function listCatalog(
  ctx: Pick<ServiceContext, 'db'>,
  filter: EntityFilter,
): Promise<EntityView[]> {
  const { health } = await snapshot(ctx.db)
  return (await listEntities(ctx.db, filter)).map((e) => view(e, health))
}

/** One entity with its monitors, dependencies and dependents. */
export async function getCatalogEntity(
  ctx: Pick<ServiceContext, 'db'>,
  id: string,
): Promise<EntityDetail> {
  const snap = await snapshot(ctx.db)
  const entity = snap.graph.entities.get(id) as StoredEntity | undefined
  if (entity === undefined) throw new NotFoundError(`catalog entity ${id} does not exist`)
  const brief = (other: string) => {
    const e = snap.graph.entities.get(other)
    return {
      id: other,
      name: displayName(e, other),
      kind: e?.kind ?? 'service',
      health: snap.health.get(other) ?? 'unknown',
    }
  }
  return {
    ...view(entity, snap.health),
    monitors: snap.monitors.filter((m) => m.entity === id).map(({ entity: _entity, ...m }) => m),
    dependencies: (snap.graph.dependencies.get(id) ?? []).map(brief),
    dependents: (snap.graph.dependents.get(id) ?? []).map(brief),
    openIncidents: await openIncidentsOf(ctx.db, id),
    firingAlerts: (await listAlerts(ctx.db, { status: 'firing', limit: 100_000 }))
      .filter((alert) => entityOfLabels(alert.labels) === id)
      .map((alert) => ({
        fingerprint: alert.fingerprint,
        summary:
          alert.annotations.summary ?? alert.labels.alertname ?? `alert ${alert.fingerprint}`,
        startsAt: alert.startsAt,
      }))
      .sort((a, b) => a.startsAt - b.startsAt),
  }
}

/** The open incidents whose alerts name `id`, read the way dependency grouping reads them. */
async function openIncidentsOf(db: Executor, id: string): Promise<EntityDetail['openIncidents']> {
  const ids = (await listOpenIncidentLabels(db))
    .filter((incident) =>
      incident.alertLabels.length > 0
        ? incident.alertLabels.some((labels) => entityOfLabels(labels) === id)
        : incident.service === id,
    )
    .map((incident) => incident.id)
    .reverse()
  const found = await Promise.all(ids.map((incidentId) => getIncident(db, incidentId)))
  return found.flatMap((incident) =>
    incident
      ? [
          {
            id: incident.id,
            title: incident.title,
            status: incident.status,
            severity: incident.severity,
          },
        ]
      : [],
  )
}

/** What is affected if `id` is down: every transitive dependent, nearest first, with its path. */
export async function catalogImpact(
  ctx: Pick<ServiceContext, 'db'>,
  id: string,
): Promise<{ entity: string; affected: ImpactedEntity[] }> {
  const snap = await snapshot(ctx.db)
  if (!snap.graph.entities.has(id)) throw new NotFoundError(`catalog entity ${id} does not exist`)
  return {
    entity: id,
    affected: impactOf(snap.graph, id).map((reached) => {
      const e = snap.graph.entities.get(reached.id)
      return {
        id: reached.id,
        name: displayName(e, reached.id),
        kind: e?.kind ?? 'service',
        health: snap.health.get(reached.id) ?? 'unknown',
        depth: reached.depth,
        path: reached.path,
      }
    }),
  }
}

/** The largest diagram depth accepted: beyond it a neighbourhood is most of any catalog. */
export const maxDiagramDepth = 5

/** The most entities one diagram shows; the nearest are kept and the rest counted. */
export const maxDiagramNodes = 60

/** The diagram of an entity's neighbourhood to `depth` links, as SVG or Mermaid text. */
export async function catalogDiagram(
  ctx: Pick<ServiceContext, 'db'>,
  id: string,
  options: { depth: number; format: 'svg' | 'mermaid' },
): Promise<string> {
  if (!Number.isInteger(options.depth) || options.depth < 1 || options.depth > maxDiagramDepth) {
    throw new InputError(
      `depth must be a whole number from 1 to ${maxDiagramDepth}, got ${options.depth}`,
      { details: [{ path: 'depth', message: `1 to ${maxDiagramDepth}` }] },
    )
  }
  const snap = await snapshot(ctx.db)
  if (!snap.graph.entities.has(id)) throw new NotFoundError(`catalog entity ${id} does not exist`)
  const neighbourhood = neighbourhoodOf(snap.graph, id, options.depth, maxDiagramNodes)
  const nodes = new Map<string, DiagramNode>()
  for (const nodeId of neighbourhood.ids) {
    const e = snap.graph.entities.get(nodeId)
    if (e === undefined) continue
    nodes.set(nodeId, {
      id: nodeId,
      name: displayName(e, nodeId),
      kind: e.kind,
      health: snap.health.get(nodeId) ?? 'unknown',
    })
  }
  return options.format === 'svg'
    ? renderDiagramSvg(neighbourhood, nodes)
    : mermaidDiagram(neighbourhood, nodes)
}

function parseSpec(id: string, body: unknown): EntitySpec {
  const parsed = entitySpecSchema.safeParse(body)
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    }))
    throw new InputError(
      `catalog entity ${id}: ${details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')}`,
      { details },
    )
  }
  return parsed.data
}

async function checkGraph(db: Executor, changed: Entity[]): Promise<void> {
  const byId = new Map((await listAllEntities(db)).map((e) => [e.id, e as Entity]))
  for (const entity of changed) byId.set(entity.id, entity)
  const ids = new Set(changed.map((e) => e.id))
  const issues = buildCatalogGraph([...byId.values()]).issues.filter(
    (issue) => ids.has(issue.entity) || issue.message.startsWith('dependency cycle'),
  )
  if (issues.length > 0) {
    throw new InputError(issues.map((issue) => issue.message).join('; '), {
      details: issues.map((issue) => ({ path: issue.field, message: issue.message })),
    })
  }
}

function readOnly(entity: StoredEntity): ConflictError {
  return new ConflictError(
    `catalog entity ${entity.id} is defined in ${entity.source.slice(filePrefix.length)}; change it there and run keel apply`,
  )
}

async function audit(
  ctx: ServiceContext,
  db: Executor,
  action: string,
  id: string,
  details: unknown,
) {
  await appendAudit(db, {
    at: ctx.clock.now(),
    actor: ctx.actor.name,
    action,
    objectType: 'catalog-entity',
    objectId: id,
    ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
    details,
  })
}

/** A team-scoped actor may only create, change or delete entities its teams own. */
function requireOwnerTeam(ctx: ServiceContext, id: string, owner: string | undefined): void {
  requireTeamAccess(ctx.actor, 'operator', { type: 'catalog entity', id, team: owner })
}

/** Creates an entity over the API (source `api`, editable); 409 when the id is taken. */
export async function createCatalogEntity(
  ctx: ServiceContext,
  id: string,
  body: unknown,
): Promise<EntityView> {
  if (!/^[a-z0-9][a-z0-9._-]{0,127}$/.test(id)) {
    throw new InputError(
      `catalog entity id must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(id)}`,
      { details: [{ path: 'id', message: 'not a slug' }] },
    )
  }
  if (!isAllowedKey(id)) {
    throw new InputError(`catalog entity ${reservedKeyMessage(id)}`, {
      details: [{ path: 'id', message: 'reserved' }],
    })
  }
  const spec = parseSpec(id, body)
  requireOwnerTeam(ctx, id, spec.owner)
  return ctx.db.transaction().execute(async (trx) => {
    if (await getEntity(trx, id))
      throw new ConflictError(`catalog entity ${id} exists; update it with PUT instead`)
    await checkGraph(trx, [{ id, ...spec }])
    const stored = await upsertEntity(trx, { id, spec, source: 'api' }, ctx.clock.now())
    await audit(ctx, trx, 'catalog.create', id, { after: spec })
    return view(stored, new Map())
  })
}

/** Replaces an API-made entity's spec; 409 for one a config file defines. */
export async function updateCatalogEntity(
  ctx: ServiceContext,
  id: string,
  body: unknown,
): Promise<EntityView> {
  const spec = parseSpec(id, body)
  return ctx.db.transaction().execute(async (trx) => {
    const existing = await getEntity(trx, id)
    if (!existing) throw new NotFoundError(`catalog entity ${id} does not exist`)
    if (existing.source.startsWith(filePrefix)) throw readOnly(existing)
    // Both the team that owns it now and the one it is handed to must be the actor's.
    requireOwnerTeam(ctx, id, existing.owner)
    requireOwnerTeam(ctx, id, spec.owner)
    await checkGraph(trx, [{ id, ...spec }])
    const stored = await upsertEntity(trx, { id, spec, source: existing.source }, ctx.clock.now())
    const { id: _id, source: _s, createdAt: _c, updatedAt: _u, ...before } = existing
    await audit(ctx, trx, 'catalog.update', id, { before, after: spec })
    return view(stored, new Map())
  })
}

/** Deletes an API-made entity; 409 while others depend on it, or when a config file defines it. */
export async function deleteCatalogEntity(ctx: ServiceContext, id: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const existing = await getEntity(trx, id)
    if (!existing) throw new NotFoundError(`catalog entity ${id} does not exist`)
    if (existing.source.startsWith(filePrefix)) throw readOnly(existing)
    requireOwnerTeam(ctx, id, existing.owner)
    const dependents = (await listAllEntities(trx))
      .filter((e) => e.dependsOn.includes(id))
      .map((e) => e.id)
    if (dependents.length > 0) {
      throw new ConflictError(
        `catalog entity ${id} is needed by ${dependents.join(', ')}; remove it from their dependsOn first`,
      )
    }
    await deleteEntity(trx, id)
    await audit(ctx, trx, 'catalog.delete', id, {})
  })
}

/** What importing a Backstage file did (or, in a dry run, would do). */
export interface CatalogImportResult {
  create: string[]
  update: string[]
  unchanged: string[]
  /** Ids a config file defines, which an import leaves alone. */
  skipped: string[]
  warnings: string[]
}

/**
 * Imports a Backstage catalog file into the store (source `import:<file>`, editable like API
 * entities, never pruned by `keel apply`). Every error in the file stops the whole import.
 */
export async function importBackstageFile(
  ctx: ServiceContext,
  text: string,
  file: string,
  options: { dryRun?: boolean } = {},
): Promise<CatalogImportResult> {
  const parsed = parseBackstageCatalog(text, file)
  if (parsed.errors.length > 0) {
    throw new InputError(`${file} cannot be imported:\n${parsed.errors.join('\n')}`, {
      details: parsed.errors.map((message) => ({ path: file, message })),
    })
  }
  const result: CatalogImportResult = {
    create: [],
    update: [],
    unchanged: [],
    skipped: [],
    warnings: parsed.warnings,
  }
  const run = async (trx: Executor) => {
    const changed: Entity[] = []
    for (const entity of parsed.entities) {
      const existing = await getEntity(trx, entity.id)
      const { id: _id, ...spec } = entity
      if (existing?.source.startsWith(filePrefix)) result.skipped.push(entity.id)
      else if (!existing) result.create.push(entity.id)
      else {
        const { id: _i, source: _s, createdAt: _c, updatedAt: _u, ...before } = existing
        if (JSON.stringify(before) === JSON.stringify(spec)) {
          result.unchanged.push(entity.id)
          continue
        }
        result.update.push(entity.id)
      }
      if (existing?.source.startsWith(filePrefix)) continue
      if (existing) requireOwnerTeam(ctx, entity.id, existing.owner)
      requireOwnerTeam(ctx, entity.id, spec.owner)
      changed.push(entity)
    }
    await checkGraph(trx, changed)
    if (options.dryRun) return
    for (const entity of changed) {
      const { id, ...spec } = entity
      await upsertEntity(trx, { id, spec, source: `import:${file}` }, ctx.clock.now())
      await audit(ctx, trx, 'catalog.import', id, { file })
    }
  }
  await ctx.db.transaction().execute(run)
  return result
}

/** What the alert pipeline needs for the root-cause decision: the graph and what is down now. */
export interface DependencyContext {
  graph: CatalogGraph
  /** Entities whose monitors roll up to `down`, or that a firing alert names. */
  downEntities: Set<string>
}

/**
 * Reads the catalog graph and the entities that are down now, for `probableRootCause` and
 * `groupByRootCause` (src/core/catalog): an entity is down when its monitors roll up to `down` or
 * a firing alert names it by its `entity` (else `service`) label.
 */
export async function loadDependencyContext(db: Executor): Promise<DependencyContext> {
  const snap = await snapshot(db)
  const downEntities = new Set(
    [...snap.health].filter(([, health]) => health === 'down').map(([id]) => id),
  )
  for (const alert of await listAlerts(db, { status: 'firing', limit: 100_000 })) {
    const id = entityOfLabels(alert.labels)
    if (id !== undefined && snap.graph.entities.has(id)) downEntities.add(id)
  }
  return { graph: snap.graph, downEntities }
}

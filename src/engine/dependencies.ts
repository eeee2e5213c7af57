import {
  buildCatalogGraph,
  probableRootCause,
  walkGraph,
  type CatalogGraph,
  type RootCause,
} from '../core/catalog/index.js'
import { entityOfLabels } from '../core/catalog/index.js'
import { dependencySuppressionFor } from '../core/alerts/index.js'
import type { Alert, AlertChange } from '../store/alerts.js'
import { listAllEntities } from '../store/catalog.js'
import type { Executor } from '../store/dialect.js'
import { findOpenIncidentOfServices, servicesWithOpenIncidents } from '../store/incidents.js'
import type { Incident } from '../core/incidents/index.js'
import { joinIncidentAsDependent, type IncidentChange } from './incidents.js'
import type { NoiseScope } from './noise.js'

let cached: { signature: string; graph: CatalogGraph } | undefined

/**
 * The catalog graph, rebuilt only when the catalog changed: one aggregate query (count and
 * newest update) tells, so a burst of alerts does not re-read every entity.
 */
async function catalogGraph(db: Executor): Promise<CatalogGraph> {
  const stamp = await db
    .selectFrom('catalog_entities')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('latest')])
    .executeTakeFirst()
  const signature = `${String(stamp?.n ?? 0)}:${String(stamp?.latest ?? '')}`
  if (cached?.signature === signature) return cached.graph
  const graph = buildCatalogGraph(await listAllEntities(db)).graph
  cached = { signature, graph }
  return graph
}

/** Where a firing alert belongs when something it depends on is down. */
export interface DependencyPlacement {
  cause: RootCause
  /** The open incident of the root cause (or of a down entity on the way to it). */
  incident: Incident
}

/**
 * Dependency grouping for a newly firing alert: when the catalog entity its labels name
 * (`entity=`, else `service=`) depends, directly or through others, on an entity that has an
 * open incident, the alert belongs in that incident (the most upstream one) instead of paging
 * on its own. Undefined when the alert names no entity, the entity depends on nothing, or none
 * of its dependencies has an open incident.
 */
export async function dependencyPlacement(
  trx: Executor,
  alert: Alert,
): Promise<DependencyPlacement | undefined> {
  const entity = entityOfLabels(alert.labels)
  if (entity === undefined) return undefined
  const graph = await catalogGraph(trx)
  if (!graph.entities.has(entity)) return undefined
  const upstream = walkGraph(graph, entity, 'dependencies')
    .map((reached) => reached.id)
    .filter((id) => id !== entity)
  if (upstream.length === 0) return undefined
  // Down = has an open incident (by its service), read in this transaction so an incident the
  // same batch just opened for the database counts.
  const down = await servicesWithOpenIncidents(trx, upstream)
  if (down.size === 0) return undefined
  const cause = probableRootCause(graph, entity, down)
  if (!cause) return undefined
  const incident = await findOpenIncidentOfServices(trx, [cause.rootEntity], { lock: true })
  return incident ? { cause, incident } : undefined
}

/**
 * Dependency grouping in the pipeline: for a newly firing, unmuted alert where grouping is on
 * (`alerting.dependencySuppression`, per receiver), joins the open incident of its probable
 * root cause and returns that change; undefined means "group and page as usual".
 */
export async function groupUnderRootCause(
  trx: Executor,
  scope: NoiseScope,
  alert: Alert,
  change: AlertChange,
): Promise<IncidentChange | undefined> {
  if (alert.status !== 'firing' || (change !== 'opened' && change !== 'reopened')) return undefined
  if (!dependencySuppressionFor(await scope.alerting(), alert.labels)) return undefined
  const placement = await dependencyPlacement(trx, alert)
  if (!placement) return undefined
  return joinIncidentAsDependent(trx, placement.incident, alert, change, scope.now, placement.cause)
}

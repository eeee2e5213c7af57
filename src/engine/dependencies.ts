import {
  buildCatalogGraph,
  entityOfLabels,
  probableRootCause,
  walkGraph,
  type CatalogGraph,
  type RootCause,
} from '../core/catalog/index.js'
import { dependencySuppressionFor } from '../core/alerts/index.js'
import type { Alert, AlertChange } from '../store/alerts.js'
import { listAllEntities } from '../store/catalog.js'
import type { Executor } from '../store/dialect.js'
import { appendAudit } from '../store/audit.js'
import {
  appendTimeline,
  attachAlert,
  getIncident,
  listIncidentAlerts,
  listOpenIncidentLabels,
} from '../store/incidents.js'
import { severityFromLabel, type Incident } from '../core/incidents/index.js'
import {
  alertTitle,
  applyStoredIncidentEvent,
  joinIncidentAsDependent,
  systemActor,
  type IncidentChange,
} from './incidents.js'
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

/** An open incident and the catalog entities its alerts name. */
interface OpenIncidentEntities {
  id: number
  status: Incident['status']
  /** Entities in the order their alerts joined; the first is the one the incident is about. */
  entities: string[]
  /** The labels of its first alert, for `dependencySuppressionFor`. */
  firstLabels: Record<string, string>
}

/**
 * The open incidents with the entities their alerts name, each read by `entityOfLabels` like
 * the alert being placed, so `entity=db-main` on a monitor and `service=db-main` on an
 * Alertmanager rule mean the same thing. An incident without alerts (declared by hand) is
 * about its `service`.
 */
async function openIncidentEntities(trx: Executor): Promise<OpenIncidentEntities[]> {
  return (await listOpenIncidentLabels(trx)).map((incident) => {
    const named = incident.alertLabels.flatMap((labels) => entityOfLabels(labels) ?? [])
    const entities = [...new Set(named)]
    if (incident.alertLabels.length === 0 && incident.service !== undefined) {
      entities.push(incident.service)
    }
    return {
      id: incident.id,
      status: incident.status,
      entities,
      firstLabels: incident.alertLabels[0] ?? {},
    }
  })
}

/**
 * The open incident standing for each down entity: one that is about the entity (its first
 * alert names it), else one the entity's alerts joined; the newest when several qualify.
 */
function incidentOfEntity(open: readonly OpenIncidentEntities[]): Map<string, number> {
  const own = new Map<string, number>()
  const joined = new Map<string, number>()
  for (const incident of open) {
    incident.entities.forEach((entity, index) => {
      const into = index === 0 ? own : joined
      into.set(entity, Math.max(into.get(entity) ?? 0, incident.id))
    })
  }
  for (const [entity, id] of own) joined.set(entity, id)
  return joined
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
  // Down = an open incident's alerts name it, read in this transaction so an incident the same
  // batch just opened for the database counts.
  const incidents = incidentOfEntity(await openIncidentEntities(trx))
  const down = new Set(upstream.filter((id) => incidents.has(id)))
  if (down.size === 0) return undefined
  const cause = probableRootCause(graph, entity, down)
  if (!cause) return undefined
  const incidentId = incidents.get(cause.rootEntity)
  const incident =
    incidentId === undefined ? undefined : await getIncident(trx, incidentId, { lock: true })
  return incident && incident.status !== 'resolved' ? { cause, incident } : undefined
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

/**
 * Dependency grouping when the dependents alerted first: once an alert of an entity has its
 * incident (it opened one, or joined one), every older open incident that is only about entities
 * depending on it, and that nobody has acknowledged yet, is merged into that incident. Merging
 * moves its alerts over, stops its paging by resolving it ("merged into incident #N", audited as
 * `incident.merge`), and notes on both timelines the probable root cause and the path to it. An
 * acknowledged one stays open, since someone is on it; it gets a note naming the root's incident
 * when that incident opens. Returns the ids of the merged incidents.
 */
export async function mergeDependentIncidents(
  trx: Executor,
  scope: NoiseScope,
  alert: Alert,
  change: AlertChange,
  rootChange: IncidentChange | undefined,
): Promise<number[]> {
  if (!rootChange || rootChange.incident.status === 'resolved') return []
  if (alert.status !== 'firing' || (change !== 'opened' && change !== 'reopened')) return []
  const entity = entityOfLabels(alert.labels)
  if (entity === undefined) return []
  const graph = await catalogGraph(trx)
  if (!graph.entities.has(entity)) return []
  // Paths as the timeline reads them: from the dependent to the root.
  const pathTo = new Map(
    walkGraph(graph, entity, 'dependents')
      .filter((reached) => reached.id !== entity)
      .map((reached) => [reached.id, [...reached.path].reverse()]),
  )
  if (pathTo.size === 0) return []
  const rootId = rootChange.incident.id
  const candidates = (await openIncidentEntities(trx)).filter(
    (open) =>
      // Older only: the alerts move to the root's incident, and an alert's current incident is
      // its newest link.
      open.id < rootId && open.entities.length > 0 && open.entities.every((id) => pathTo.has(id)),
  )
  if (candidates.length === 0) return []
  const alerting = await scope.alerting()
  const merged: number[] = []
  let root = await getIncident(trx, rootId, { lock: true })
  for (const candidate of candidates) {
    if (!root || root.status === 'resolved') break
    if (!dependencySuppressionFor(alerting, candidate.firstLabels)) continue
    const dependent = await getIncident(trx, candidate.id, { lock: true })
    if (!dependent || dependent.status === 'resolved') continue
    const path = pathTo.get(candidate.entities[0] as string) as string[]
    const cause = `probable root cause ${entity} (${path.join(' → ')})`
    if (dependent.status === 'acknowledged') {
      if (rootChange.opened) {
        await appendTimeline(trx, dependent.id, [
          {
            at: scope.now,
            kind: 'note',
            text: `Incident #${root.id} opened for ${entity}: ${cause}; left open, as it is acknowledged`,
            data: { rootIncident: root.id, rootEntity: entity, path },
          },
        ])
      }
      continue
    }
    for (const moved of await listIncidentAlerts(trx, dependent.id)) {
      const linked = await attachAlert(trx, root.id, moved.id, scope.now)
      if (!linked || moved.status !== 'firing') continue
      const ref = {
        fingerprint: moved.fingerprint,
        summary: alertTitle(moved),
        severity: severityFromLabel(moved.labels.severity),
      }
      const result = await applyStoredIncidentEvent(
        trx,
        root,
        { kind: 'alertAttached', alert: ref },
        scope.now,
      )
      if (result.ok) root = result.incident
    }
    await appendTimeline(trx, root.id, [
      {
        at: scope.now,
        kind: 'note',
        text: `Incident #${dependent.id} (${dependent.title}) merged here: ${cause}`,
        data: { mergedIncident: dependent.id, rootEntity: entity, path },
      },
    ])
    const resolved = await applyStoredIncidentEvent(
      trx,
      dependent,
      { kind: 'resolve', by: systemActor, reason: `merged into incident #${root.id}: ${cause}` },
      scope.now,
    )
    if (!resolved.ok) continue
    await appendAudit(trx, {
      at: scope.now,
      actor: systemActor,
      action: 'incident.merge',
      objectType: 'incident',
      objectId: String(dependent.id),
      details: { into: root.id, rootEntity: entity, path },
    })
    merged.push(dependent.id)
  }
  return merged
}

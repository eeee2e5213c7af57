import { walkGraph, type CatalogGraph } from './graph.js'

/** The down entity an alert's failure most probably comes from, and the path to it. */
export interface RootCause {
  /** The most upstream down dependency of the alert's entity. */
  rootEntity: string
  /** From the alert's entity to `rootEntity`, both included, following `dependsOn`. */
  path: string[]
}

/**
 * The probable root cause of an alert on `entityOfAlert`, given which entities are down now:
 * among the down entities it depends on (directly or through others), the one that has no down
 * dependency of its own; when several qualify, the furthest away, then the smallest id.
 * Undefined when nothing it depends on is down: the alert's entity is then its own root cause
 * and the alert pages as usual.
 *
 * The alert pipeline (`dependencyPlacement` in src/engine/dependencies.ts) calls it for each
 * newly firing alert whose labels name a catalog entity (`entityOfLabels`: `entity=`, else
 * `service=`), with `downEntities` = the entities it depends on that have an open incident, each
 * incident's entities read from its alerts' labels the same way (its `service` when it has no
 * alerts). A result means: the alert joins the open incident that stands for `rootEntity` instead
 * of paging, and the timeline names `rootEntity` as probable root cause. The other order, where
 * dependents alerted first, does not come through here: the root's alert then merges their
 * unacknowledged incidents into its own (`mergeDependentIncidents`, walking the graph itself).
 * Intermediate entities on the path need not be down: a failure travels through an unmonitored
 * cache just as well.
 */
export function probableRootCause(
  graph: CatalogGraph,
  entityOfAlert: string,
  downEntities: ReadonlySet<string>,
): RootCause | undefined {
  const downUpstream = walkGraph(graph, entityOfAlert, 'dependencies').filter(
    (reached) => downEntities.has(reached.id) && reached.id !== entityOfAlert,
  )
  if (downUpstream.length === 0) return undefined
  const roots = downUpstream.filter(
    (candidate) =>
      !walkGraph(graph, candidate.id, 'dependencies').some(
        (above) => above.id !== candidate.id && downEntities.has(above.id),
      ),
  )
  // Only a cycle of down entities leaves no root; the furthest one is the best guess then.
  const pool = roots.length > 0 ? roots : downUpstream
  const best = [...pool].sort(
    (a, b) => b.depth - a.depth || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )[0] as (typeof pool)[number]
  return { rootEntity: best.id, path: best.path }
}

/** An alert as dependency grouping needs it: anything, with the entity its labels name. */
export interface EntityAlert {
  entity?: string
}

/** One page's worth of alerts: those whose failure comes from the same root entity. */
export interface DependencyGroup<T extends EntityAlert> {
  /** The entity the page is about; undefined for an alert that names no catalog entity. */
  rootEntity: string | undefined
  alerts: { alert: T; path: string[] }[]
}

/**
 * Groups firing alerts by probable root cause, one group per page: an alert whose entity depends
 * on a down entity joins that root's group (with the path to it) instead of paging on its own;
 * the others group by their own entity. Groups come in the order of their first alert.
 */
export function groupByRootCause<T extends EntityAlert>(
  graph: CatalogGraph,
  alerts: readonly T[],
  downEntities: ReadonlySet<string>,
): DependencyGroup<T>[] {
  const groups = new Map<string, DependencyGroup<T>>()
  const loose: DependencyGroup<T>[] = []
  const order: DependencyGroup<T>[] = []
  for (const alert of alerts) {
    if (alert.entity === undefined || !graph.entities.has(alert.entity)) {
      const group = { rootEntity: alert.entity, alerts: [{ alert, path: [] }] }
      loose.push(group)
      order.push(group)
      continue
    }
    const cause = probableRootCause(graph, alert.entity, downEntities)
    const root = cause?.rootEntity ?? alert.entity
    let group = groups.get(root)
    if (group === undefined) {
      group = { rootEntity: root, alerts: [] }
      groups.set(root, group)
      order.push(group)
    }
    group.alerts.push({ alert, path: cause?.path ?? [alert.entity] })
  }
  return order
}

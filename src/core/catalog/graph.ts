import type { Entity } from './entity.js'

/** The `dependsOn` graph of a catalog, both directions, with entities by id. */
export interface CatalogGraph {
  entities: ReadonlyMap<string, Entity>
  /** For each id, the ids it depends on (upstream), sorted, unknown ones left out. */
  dependencies: ReadonlyMap<string, readonly string[]>
  /** For each id, the ids that depend on it (downstream), sorted. */
  dependents: ReadonlyMap<string, readonly string[]>
}

/** A problem in the graph: which entity, which field, and what to do. */
export interface CatalogIssue {
  entity: string
  field: string
  message: string
}

/** The graph, and every issue found building it; the graph skips unknown references. */
export interface BuildGraphResult {
  graph: CatalogGraph
  issues: CatalogIssue[]
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Finds every `dependsOn` cycle once, each as the path that closes it, starting at its smallest
 * id so the same cycle is always reported the same way.
 */
function findCycles(dependencies: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const cycles = new Map<string, string[]>()
  const visit = (id: string) => {
    state.set(id, 'visiting')
    stack.push(id)
    for (const next of dependencies.get(id) ?? []) {
      const seen = state.get(next)
      if (seen === 'visiting') {
        const loop = stack.slice(stack.indexOf(next))
        const start = loop.indexOf([...loop].sort(byCodeUnit)[0] as string)
        const rotated = [...loop.slice(start), ...loop.slice(0, start)]
        cycles.set(rotated.join('\u0000'), [...rotated, rotated[0] as string])
      } else if (seen === undefined) visit(next)
    }
    stack.pop()
    state.set(id, 'done')
  }
  for (const id of [...dependencies.keys()].sort(byCodeUnit)) if (!state.has(id)) visit(id)
  return [...cycles.values()].sort((a, b) => byCodeUnit(a.join(' '), b.join(' ')))
}

/**
 * Builds the dependency graph of `entities` and reports unknown references (`dependsOn`,
 * `system`) and cycles, naming the cycle path and the fix. Callers that accept input refuse it
 * when there are issues; readers use the graph anyway, so a stored catalog always renders.
 */
export function buildCatalogGraph(entities: readonly Entity[]): BuildGraphResult {
  const byId = new Map<string, Entity>()
  for (const entity of [...entities].sort((a, b) => byCodeUnit(a.id, b.id)))
    byId.set(entity.id, entity)
  const issues: CatalogIssue[] = []
  const dependencies = new Map<string, string[]>()
  const dependents = new Map<string, string[]>()
  for (const id of byId.keys()) dependents.set(id, [])
  for (const entity of byId.values()) {
    const known: string[] = []
    for (const target of new Set(entity.dependsOn)) {
      if (target === entity.id) {
        issues.push({
          entity: entity.id,
          field: 'dependsOn',
          message: `entity ${entity.id} depends on itself; remove ${target} from its dependsOn`,
        })
      } else if (!byId.has(target)) {
        issues.push({
          entity: entity.id,
          field: 'dependsOn',
          message: `entity ${entity.id} depends on unknown entity ${target}; define ${target} in the catalog or remove it from dependsOn`,
        })
      } else {
        known.push(target)
        dependents.get(target)?.push(entity.id)
      }
    }
    dependencies.set(entity.id, known.sort(byCodeUnit))
    if (entity.system !== undefined) {
      const system = byId.get(entity.system)
      if (system === undefined) {
        issues.push({
          entity: entity.id,
          field: 'system',
          message: `entity ${entity.id} belongs to unknown system ${entity.system}; define it with kind: system or remove the system field`,
        })
      } else if (system.kind !== 'system') {
        issues.push({
          entity: entity.id,
          field: 'system',
          message: `entity ${entity.id}: system ${entity.system} has kind ${system.kind}; point system at an entity of kind system`,
        })
      }
    }
  }
  for (const list of dependents.values()) list.sort(byCodeUnit)
  for (const cycle of findCycles(dependencies)) {
    const [first, second] = cycle
    issues.push({
      entity: first as string,
      field: 'dependsOn',
      message: `dependency cycle ${cycle.join(' → ')}; an entity cannot depend on itself through others: remove one of these dependsOn links (for example ${second} from ${first}'s dependsOn)`,
    })
  }
  return { graph: { entities: byId, dependencies, dependents }, issues }
}

/** One entity reached by walking the graph, with how far and by which path. */
export interface ReachedEntity {
  id: string
  /** Links walked from the start: 1 for a direct dependent or dependency. */
  depth: number
  /** The ids from the start to this entity, both included (one shortest path). */
  path: string[]
}

/**
 * Walks from `start` along one direction breadth-first, so each entity is reached by a shortest
 * path; ties go to the smaller id, so the result is the same on every run.
 */
export function walkGraph(
  graph: CatalogGraph,
  start: string,
  direction: 'dependents' | 'dependencies',
  maxDepth = Infinity,
): ReachedEntity[] {
  const edges = graph[direction]
  const reached = new Map<string, ReachedEntity>()
  let frontier: ReachedEntity[] = [{ id: start, depth: 0, path: [start] }]
  const seen = new Set([start])
  while (frontier.length > 0) {
    const next: ReachedEntity[] = []
    for (const from of frontier) {
      if (from.depth >= maxDepth) continue
      for (const id of edges.get(from.id) ?? []) {
        if (seen.has(id)) continue
        seen.add(id)
        const entry = { id, depth: from.depth + 1, path: [...from.path, id] }
        reached.set(id, entry)
        next.push(entry)
      }
    }
    frontier = next
  }
  return [...reached.values()].sort((a, b) => a.depth - b.depth || byCodeUnit(a.id, b.id))
}

/**
 * Impact analysis: every entity affected when `id` is down, i.e. everything that depends on it
 * directly or through others, nearest first, each with the path by which the failure reaches it.
 */
export function impactOf(graph: CatalogGraph, id: string): ReachedEntity[] {
  return walkGraph(graph, id, 'dependents')
}

/** The part of the graph around one entity: what it needs and what needs it, up to a depth. */
export interface Neighbourhood {
  focus: string
  /** Every id in the neighbourhood, the focus included, sorted. */
  ids: string[]
  /** `dependsOn` links between those ids, `from` depending on `to`, sorted. */
  edges: { from: string; to: string }[]
  /** Entities within the depth left out to stay under `maxNodes` (the furthest go first). */
  omitted: number
}

/**
 * The neighbourhood of `focus`: upstream and downstream entities up to `depth` links away, at
 * most `maxNodes` of them (nearest first, then by id), since a diagram of a database with
 * hundreds of dependents is unreadable and slow to lay out.
 */
export function neighbourhoodOf(
  graph: CatalogGraph,
  focus: string,
  depth: number,
  maxNodes = Infinity,
): Neighbourhood {
  const reached = new Map<string, number>()
  for (const direction of ['dependencies', 'dependents'] as const)
    for (const entry of walkGraph(graph, focus, direction, depth))
      reached.set(entry.id, Math.min(entry.depth, reached.get(entry.id) ?? Infinity))
  const ranked = [...reached].sort(([a, da], [b, db]) => da - db || byCodeUnit(a, b))
  const kept = ranked.slice(0, Math.max(0, maxNodes - 1)).map(([id]) => id)
  const ids = new Set([focus, ...kept])
  const edges: { from: string; to: string }[] = []
  const sorted = [...ids].sort(byCodeUnit)
  for (const from of sorted)
    for (const to of graph.dependencies.get(from) ?? []) if (ids.has(to)) edges.push({ from, to })
  return { focus, ids: sorted, edges, omitted: ranked.length - kept.length }
}

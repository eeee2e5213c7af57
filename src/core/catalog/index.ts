export {
  entityIdSchema,
  entityKinds,
  entitySpecSchema,
  knownLifecycles,
  type Entity,
  type EntityKind,
  type EntitySpec,
  type EntitySpecInput,
} from './entity.js'
export {
  buildCatalogGraph,
  impactOf,
  neighbourhoodOf,
  walkGraph,
  type BuildGraphResult,
  type CatalogGraph,
  type CatalogIssue,
  type Neighbourhood,
  type ReachedEntity,
} from './graph.js'
export {
  catalogHealth,
  entityHealthOf,
  entityHealths,
  entityLabel,
  entityOfLabels,
  serviceLabel,
  type EntityHealth,
  type MonitorHealthInput,
  type MonitorStateName,
} from './health.js'
export { healthColours, mermaidDiagram, type DiagramNode } from './mermaid.js'
export {
  groupByRootCause,
  probableRootCause,
  type DependencyGroup,
  type EntityAlert,
  type RootCause,
} from './root-cause.js'

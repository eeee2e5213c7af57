/** An entity's health as the catalog and its diagrams show it. */
export type EntityHealth = 'up' | 'degraded' | 'down' | 'unknown' | 'maintenance'

/** Every health value, worst first: the order roll-ups and legends use. */
export const entityHealths: readonly EntityHealth[] = [
  'down',
  'degraded',
  'maintenance',
  'unknown',
  'up',
]

/** A monitor's confirmed state, as `core/checks` names them. */
export type MonitorStateName = 'pending' | 'up' | 'down' | 'degraded' | 'paused'

/**
 * The label naming an alert's or a monitor's entity; `service` is read when it is absent, since
 * many senders (and Keel's own examples) already label by service.
 */
export const entityLabel = 'entity'

/** The fallback label read when `entity` is absent. */
export const serviceLabel = 'service'

/** The entity id a set of labels names (`entity=<id>`, else `service=<id>`), or undefined. */
export function entityOfLabels(labels: Readonly<Record<string, string>>): string | undefined {
  const named = labels[entityLabel] ?? labels[serviceLabel]
  return named === undefined || named === '' ? undefined : named
}

/**
 * Rolls up an entity's health from its monitors' states: any down monitor makes it down, else
 * any degraded one degraded; paused monitors (maintenance) only count when all are paused; no
 * monitors, or only pending ones, is unknown.
 */
export function entityHealthOf(states: readonly MonitorStateName[]): EntityHealth {
  if (states.includes('down')) return 'down'
  if (states.includes('degraded')) return 'degraded'
  if (states.includes('up')) return 'up'
  if (states.length > 0 && states.every((state) => state === 'paused')) return 'maintenance'
  return 'unknown'
}

/** A monitor as health roll-up needs it: its labels and its state. */
export interface MonitorHealthInput {
  labels: Readonly<Record<string, string>>
  state: MonitorStateName
}

/**
 * The health of each of `entityIds` from the monitors labelled with it; entities no monitor
 * names are `unknown`.
 */
export function catalogHealth(
  entityIds: Iterable<string>,
  monitors: readonly MonitorHealthInput[],
): Map<string, EntityHealth> {
  const states = new Map<string, MonitorStateName[]>()
  for (const id of entityIds) states.set(id, [])
  for (const monitor of monitors) {
    const id = entityOfLabels(monitor.labels)
    if (id !== undefined) states.get(id)?.push(monitor.state)
  }
  return new Map([...states].map(([id, list]) => [id, entityHealthOf(list)]))
}

import { sql } from 'kysely'
import type {
  DayUptime,
  StatusPageIncidentInput,
  StatusPageMonitor,
} from '../core/statuspage/index.js'
import { parseJson, type Executor } from './dialect.js'
import { getMeta } from './meta.js'
import { integrationKinds } from './integrations.js'

const dayMs = 86_400_000
/** Raw status code of a `down` result (0 up, 1 degraded, 2 down). */
const downCode = 2
/** Timeline kinds the public sees: status changes, and the notes responders published. */
const publicKinds = ['opened', 'acknowledged', 'resolved', 'reopened', 'publicUpdate']

/** A monitor's row id beside what the status page shows of it. */
export interface StatusPageMonitorRow extends StatusPageMonitor {
  rowId: number
}

function monitorOf(row: {
  id: number
  slug: string
  type: string
  spec: string
  state: string
}): StatusPageMonitorRow {
  const spec = parseJson<{ name?: unknown; labels?: unknown; public?: unknown }>(row.spec, {})
  const labels =
    typeof spec.labels === 'object' && spec.labels !== null
      ? (spec.labels as Record<string, string>)
      : {}
  return {
    rowId: row.id,
    id: row.slug,
    type: row.type,
    ...(typeof spec.name === 'string' ? { name: spec.name } : {}),
    state: row.state,
    labels,
    public: spec.public === true,
  }
}

/**
 * The monitors a status page may show: the ones named, or with no names every monitor (to find
 * those marked `public: true`).
 */
export async function listStatusPageMonitors(
  db: Executor,
  slugs?: readonly string[],
): Promise<StatusPageMonitorRow[]> {
  const base = db
    .selectFrom('monitors')
    .select(['id', 'slug', 'type', 'spec', 'state'])
    .where('deleted_at', 'is', null)
  if (slugs === undefined) return (await base.execute()).map(monitorOf)
  const out: StatusPageMonitorRow[] = []
  for (let i = 0; i < slugs.length; i += 500) {
    const rows = await base.where('slug', 'in', slugs.slice(i, i + 500)).execute()
    out.push(...rows.map(monitorOf))
  }
  return out
}

function dayOf(column: 'bucket_start' | 'checked_at') {
  return sql<number>`(${sql.ref(column)} - (${sql.ref(column)} % ${sql.lit(dayMs)}))`
}

/**
 * Check counts per monitor and UTC day since `from`, summed in the database from the coarsest
 * data that covers each range: day roll-ups, then hour roll-ups after the last rolled day, minute
 * roll-ups after the last rolled hour, and raw results after the last rolled minute (the
 * retention job's watermarks), so no check is counted twice and today is complete.
 */
export async function listDailyUptime(
  db: Executor,
  monitors: readonly { rowId: number; id: string }[],
  from: number,
): Promise<DayUptime[]> {
  if (monitors.length === 0) return []
  const slugOf = new Map(monitors.map((m) => [m.rowId, m.id]))
  const ids = [...slugOf.keys()]
  const mark = async (resolution: string) =>
    Math.max(from, Number((await getMeta(db, `rollup:${resolution}`)) ?? from))
  const dayDone = await mark('d')
  const hourDone = Math.max(dayDone, await mark('h'))
  const minuteDone = Math.max(hourDone, await mark('m'))
  const out: DayUptime[] = []
  const push = (
    rows: { monitor_id: number; day: unknown; count: unknown; failures: unknown }[],
  ) => {
    for (const r of rows) {
      out.push({
        monitor: slugOf.get(r.monitor_id) as string,
        day: Number(r.day),
        count: Number(r.count),
        failures: Number(r.failures),
      })
    }
  }
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500)
    const rollups = (resolution: string, start: number, end?: number) => {
      let q = db
        .selectFrom('result_rollups')
        .select((eb) => [
          'monitor_id',
          dayOf('bucket_start').as('day'),
          eb.fn.sum<number>('count').as('count'),
          eb.fn.sum<number>('failures').as('failures'),
        ])
        .where('resolution', '=', resolution)
        .where('monitor_id', 'in', chunk)
        .where('bucket_start', '>=', start)
      if (end !== undefined) q = q.where('bucket_start', '<', end)
      return q.groupBy(['monitor_id', sql`2`]).execute()
    }
    push(await rollups('d', from, dayDone))
    push(await rollups('h', dayDone, hourDone))
    push(await rollups('m', hourDone, minuteDone))
    push(
      await db
        .selectFrom('check_results')
        .select((eb) => [
          'monitor_id',
          dayOf('checked_at').as('day'),
          eb.fn.countAll<number>().as('count'),
          eb.fn
            .sum<number>(eb.case().when('status', '=', downCode).then(1).else(0).end())
            .as('failures'),
        ])
        .where('monitor_id', 'in', chunk)
        .where('checked_at', '>=', minuteDone)
        .groupBy(['monitor_id', sql`2`])
        .execute(),
    )
  }
  return out
}

/** True for an alert source written by ingest (`<integration kind>:<integration id>`). */
function ingestSource(source: string): boolean {
  const kind = source.slice(0, source.indexOf(':'))
  return (integrationKinds as readonly string[]).includes(kind)
}

/**
 * Incidents open now or resolved since `since` (newest 200) whose alerts carry one of the
 * monitors' ids in their `monitor` label or one of their `service` labels, with their public
 * status changes and published updates. Alert text, people and other notes are never read.
 */
export async function listStatusPageIncidents(
  db: Executor,
  monitors: readonly { id: string; labels: Record<string, string> }[],
  since: number,
): Promise<StatusPageIncidentInput[]> {
  if (monitors.length === 0) return []
  const rows = await db
    .selectFrom('incidents')
    .select(['id', 'severity', 'status', 'created_at', 'resolved_at'])
    .where((eb) => eb.or([eb('status', '<>', 'resolved'), eb('resolved_at', '>=', since)]))
    .orderBy('id', 'desc')
    .limit(200)
    .execute()
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const links = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select(['incident_alerts.incident_id', 'alerts.labels', 'alerts.source'])
    .where('incident_alerts.incident_id', 'in', ids)
    .execute()
  const allowed = new Set(
    (
      await db
        .selectFrom('integrations')
        .select(['id', 'kind'])
        .where('public_status', '=', 1)
        .execute()
    ).map((i) => `${i.kind}:${i.id}`),
  )
  const byMonitor = new Set(monitors.map((m) => m.id))
  const byService = new Map<string, string[]>()
  for (const m of monitors) {
    const service = m.labels.service
    if (service !== undefined) byService.set(service, [...(byService.get(service) ?? []), m.id])
  }
  const touched = new Map<number, Set<string>>()
  for (const link of links) {
    // An ingested alert names a public monitor or service only by its labels, which the sender
    // writes: it reaches the public page only from an integration allowed to (`publicStatus`).
    if (ingestSource(link.source) && !allowed.has(link.source)) continue
    const labels = parseJson<Record<string, string>>(link.labels, {})
    const hit = [
      ...(labels.monitor !== undefined && byMonitor.has(labels.monitor) ? [labels.monitor] : []),
      ...(labels.monitor === undefined && labels.service !== undefined
        ? (byService.get(labels.service) ?? [])
        : []),
    ]
    if (hit.length === 0) continue
    const set = touched.get(link.incident_id) ?? new Set<string>()
    for (const id of hit) set.add(id)
    touched.set(link.incident_id, set)
  }
  const matched = rows.filter((r) => touched.has(r.id))
  if (matched.length === 0) return []
  const timeline = await db
    .selectFrom('incident_timeline')
    .select(['incident_id', 'at', 'kind', 'text'])
    .where(
      'incident_id',
      'in',
      matched.map((r) => r.id),
    )
    .where('kind', 'in', publicKinds)
    .orderBy('at')
    .orderBy('id')
    .execute()
  return matched.map((r) => ({
    id: r.id,
    severity: r.severity,
    status: r.status,
    createdAt: Number(r.created_at),
    ...(r.resolved_at !== null ? { resolvedAt: Number(r.resolved_at) } : {}),
    monitors: [...(touched.get(r.id) as Set<string>)],
    changes: timeline
      .filter((t) => t.incident_id === r.id)
      .map((t) => ({
        at: Number(t.at),
        kind: t.kind,
        ...(t.kind === 'publicUpdate' ? { text: t.text } : {}),
      })),
  }))
}

import { maintenanceState, matchesAll, nextMaintenanceChange } from '../alerts/index.js'
import type { MaintenanceWindow } from '../alerts/index.js'
import type { Instant } from '../time.js'
import type { StatusPageConfig } from './config.js'

/** How many daily bars each component shows. */
export const statusPageDays = 90

const dayMs = 86_400_000

/** A public component's state, from best to worst (maintenance sits apart). */
export type ComponentStatus =
  'operational' | 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance' | 'unknown'

/** The whole page's state, shown as the banner. */
export type OverallStatus = Exclude<ComponentStatus, 'unknown'>

/** A monitor as the status page needs it: never its target, spec or messages. */
export interface StatusPageMonitor {
  id: string
  type: string
  name?: string
  /** The monitor's current state (`up`, `degraded`, `down`, `pending`, `paused`). */
  state: string
  labels: Record<string, string>
  /** The monitor's own `public: true` flag, used when the config lists no groups. */
  public: boolean
}

/** Check counts of one monitor on one UTC day. */
export interface DayUptime {
  monitor: string
  /** The day's first instant (UTC midnight). */
  day: Instant
  count: number
  failures: number
}

/** An incident touching public monitors, with only what may be shown. */
export interface StatusPageIncidentInput {
  id: number
  severity: string
  status: string
  createdAt: Instant
  resolvedAt?: Instant
  /** The public monitors its alerts are about. */
  monitors: readonly string[]
  /**
   * Status changes and published updates, oldest first (timeline kinds: opened, acknowledged,
   * resolved, reopened, and publicUpdate with the responder's text).
   */
  changes: readonly { at: Instant; kind: string; text?: string }[]
}

/** A stored maintenance window, with the status page's own fields. */
export type StatusPageMaintenanceInput = MaintenanceWindow & {
  description?: string
  public: boolean
}

/** Everything the page is built from. */
export interface StatusPageInputs {
  config: StatusPageConfig
  monitors: readonly StatusPageMonitor[]
  days: readonly DayUptime[]
  incidents: readonly StatusPageIncidentInput[]
  maintenance: readonly StatusPageMaintenanceInput[]
  now: Instant
  /** The page's absolute URL, for feeds; absent when no public URL is configured. */
  url?: string
}

/** One daily bar: its date, and its uptime ratio when there were checks. */
export interface DayBar {
  date: string
  uptime?: number
}

/** A component as the public sees it. */
export interface PublicComponent {
  key: string
  name: string
  description?: string
  status: ComponentStatus
  /** Uptime over the days shown, when there were checks. */
  uptime?: number
  days: DayBar[]
}

/** A group of components. */
export interface PublicGroup {
  name: string
  components: PublicComponent[]
}

/** Public incident statuses, in the words status pages use. */
export type PublicIncidentStatus = 'investigating' | 'identified' | 'resolved'

/** One public update of an incident. */
export interface PublicIncidentUpdate {
  at: Instant
  status: PublicIncidentStatus
  text: string
}

/** An incident as the public sees it: no alert text, no people, no internal names. */
export interface PublicIncident {
  id: number
  title: string
  status: PublicIncidentStatus
  impact: 'major' | 'minor' | 'none'
  components: string[]
  startedAt: Instant
  resolvedAt?: Instant
  updates: PublicIncidentUpdate[]
}

/** A public maintenance window that is scheduled or in effect. */
export interface PublicMaintenance {
  id: string
  title: string
  description?: string
  state: 'scheduled' | 'active'
  startsAt?: Instant
  endsAt?: Instant
  components: string[]
}

/** The public status page's data: nothing in it that is not meant for the public. */
export interface StatusPageView {
  title: string
  description?: string
  logoUrl?: string
  url?: string
  generatedAt: Instant
  status: OverallStatus
  groups: PublicGroup[]
  /** Whether the page lists incidents at all (`statusPage.showIncidents`). */
  showIncidents: boolean
  activeIncidents: PublicIncident[]
  pastIncidents: PublicIncident[]
  maintenance: PublicMaintenance[]
}

/** A component the config makes public, before its data is read. */
export interface ComponentRef {
  group: string
  monitor: string
  name?: string
  description?: string
}

/**
 * The components the page shows, in order: those the config's groups list, or without groups
 * every monitor marked `public: true` in one group named after the page. Nothing else is public.
 */
export function publicComponentRefs(
  config: StatusPageConfig,
  monitors: readonly Pick<StatusPageMonitor, 'id' | 'public'>[],
): ComponentRef[] {
  if (config.groups) {
    return config.groups.flatMap((group) =>
      group.components.map((c) => ({
        group: group.name,
        monitor: c.monitor,
        ...(c.name !== undefined ? { name: c.name } : {}),
        ...(c.description !== undefined ? { description: c.description } : {}),
      })),
    )
  }
  return monitors
    .filter((m) => m.public)
    .map((m) => m.id)
    .sort()
    .map((monitor) => ({ group: 'Services', monitor }))
}

/** The public status of a component from its monitor's state and any maintenance covering it. */
export function componentStatus(state: string, inMaintenance: boolean): ComponentStatus {
  if (inMaintenance) return 'maintenance'
  switch (state) {
    case 'up':
      return 'operational'
    case 'degraded':
      return 'degraded'
    case 'down':
      return 'major_outage'
    default:
      return 'unknown'
  }
}

/**
 * The banner: a major outage when at least half the components with a known state are down,
 * a partial outage when fewer are, then degraded, then maintenance, else operational.
 */
export function overallStatus(statuses: readonly ComponentStatus[]): OverallStatus {
  const known = statuses.filter((s) => s !== 'unknown')
  const down = known.filter((s) => s === 'major_outage' || s === 'partial_outage').length
  if (down > 0) return down * 2 >= known.length ? 'major_outage' : 'partial_outage'
  if (known.includes('degraded')) return 'degraded'
  if (known.includes('maintenance')) return 'maintenance'
  return 'operational'
}

/** Words for each status, as the page and the summary show them. */
export const statusText: Record<ComponentStatus, string> = {
  operational: 'Operational',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  maintenance: 'Under maintenance',
  unknown: 'No data',
}

/** The banner's words for the overall status. */
export const overallText: Record<OverallStatus, string> = {
  operational: 'All systems operational',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  maintenance: 'Under maintenance',
}

/** The colour class of a daily bar: no data, then from full uptime down to an outage. */
export type UptimeLevel = 'none' | 'full' | 'high' | 'low' | 'bad'

/** A bar's colour class: ≥ 99.9 % full, ≥ 99 % high, ≥ 95 % low, below that bad. */
export function uptimeLevel(uptime: number | undefined): UptimeLevel {
  if (uptime === undefined) return 'none'
  if (uptime >= 0.999) return 'full'
  if (uptime >= 0.99) return 'high'
  if (uptime >= 0.95) return 'low'
  return 'bad'
}

/** An uptime ratio as the page prints it: `99.95 %`, never rounding a failure up to 100. */
export function formatUptime(uptime: number | undefined): string {
  if (uptime === undefined) return 'no data'
  const percent = uptime * 100
  // The epsilon undoes binary float error (0.29 * 100 is 28.999…), not a real shortfall.
  const text = (Math.floor(percent * 100 + 1e-6) / 100).toFixed(2)
  return `${text} %`
}

function isoDate(day: Instant): string {
  return new Date(day).toISOString().slice(0, 10)
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'component'
  )
}

/** The labels a maintenance window's matchers see for a monitor, as its alerts carry them. */
function monitorLabels(monitor: StatusPageMonitor): Record<string, string> {
  return { ...monitor.labels, monitor: monitor.id, monitor_type: monitor.type }
}

const updateText: Record<string, { status: PublicIncidentStatus; text: string } | undefined> = {
  opened: { status: 'investigating', text: 'We are investigating a problem.' },
  acknowledged: {
    status: 'identified',
    text: 'The problem has been identified and is being worked on.',
  },
  resolved: { status: 'resolved', text: 'This incident has been resolved.' },
  reopened: { status: 'investigating', text: 'The problem has returned; we are investigating.' },
}

function publicIncidentStatus(status: string): PublicIncidentStatus {
  if (status === 'resolved') return 'resolved'
  return status === 'acknowledged' ? 'identified' : 'investigating'
}

function incidentImpact(severity: string): PublicIncident['impact'] {
  if (severity === 'critical' || severity === 'error') return 'major'
  return severity === 'warning' ? 'minor' : 'none'
}

/**
 * Builds the public view: components with their status and daily bars (UTC days, the last
 * `statusPageDays` including today), incidents of public monitors with their status changes and
 * the notes responders published as updates, and a title made from component names (an
 * incident's own title comes from alert text, which may name internal things), and public
 * maintenance that covers a public component.
 */
export function buildStatusPageView(inputs: StatusPageInputs): StatusPageView {
  const { config, now } = inputs
  const byId = new Map(inputs.monitors.map((m) => [m.id, m]))
  const refs = publicComponentRefs(config, inputs.monitors).filter((r) => byId.has(r.monitor))
  const today = Math.floor(now / dayMs) * dayMs
  const first = today - (statusPageDays - 1) * dayMs
  const counts = new Map<string, { count: number; failures: number }>()
  for (const d of inputs.days) {
    if (d.day < first || d.day > today) continue
    const key = `${d.monitor}@${d.day}`
    const sum = counts.get(key) ?? { count: 0, failures: 0 }
    sum.count += d.count
    sum.failures += d.failures
    counts.set(key, sum)
  }

  const maintenance: (PublicMaintenance & { covers: Set<string> })[] = []
  for (const window of inputs.maintenance) {
    if (!window.public) continue
    const state = maintenanceState(window, now)
    if (state === 'completed') continue
    const covers = new Set(
      refs
        .filter((r) =>
          matchesAll(window.matchers, monitorLabels(byId.get(r.monitor) as StatusPageMonitor)),
        )
        .map((r) => r.monitor),
    )
    if (covers.size === 0) continue
    const next = nextMaintenanceChange(window, now)
    const startsAt = state === 'active' ? (window.oneOff?.start ?? undefined) : next
    const endsAt =
      state === 'active'
        ? next
        : window.oneOff && !window.recurring
          ? window.oneOff.end
          : next !== undefined
            ? nextMaintenanceChange(window, next)
            : undefined
    maintenance.push({
      id: window.id,
      title: window.title,
      ...(window.description ? { description: window.description } : {}),
      state,
      ...(startsAt !== undefined ? { startsAt } : {}),
      ...(endsAt !== undefined ? { endsAt } : {}),
      components: [],
      covers,
    })
  }

  const names = new Map<string, string>()
  const usedKeys = new Set<string>()
  const groups: PublicGroup[] = []
  const statuses: ComponentStatus[] = []
  for (const ref of refs) {
    const monitor = byId.get(ref.monitor) as StatusPageMonitor
    const name = ref.name ?? monitor.name ?? monitor.id
    names.set(ref.monitor, name)
    let key = slug(name)
    for (let n = 2; usedKeys.has(key); n++) key = `${slug(name)}-${n}`
    usedKeys.add(key)
    const inMaintenance = maintenance.some((w) => w.state === 'active' && w.covers.has(ref.monitor))
    const status = componentStatus(monitor.state, inMaintenance)
    statuses.push(status)
    let total = 0
    let failed = 0
    const days: DayBar[] = []
    for (let day = first; day <= today; day += dayMs) {
      const sum = counts.get(`${ref.monitor}@${day}`)
      total += sum?.count ?? 0
      failed += sum?.failures ?? 0
      days.push({
        date: isoDate(day),
        ...(sum && sum.count > 0 ? { uptime: (sum.count - sum.failures) / sum.count } : {}),
      })
    }
    const component: PublicComponent = {
      key,
      name,
      ...(ref.description !== undefined ? { description: ref.description } : {}),
      status,
      ...(total > 0 ? { uptime: (total - failed) / total } : {}),
      days,
    }
    const group = groups.find((g) => g.name === ref.group)
    if (group) group.components.push(component)
    else groups.push({ name: ref.group, components: [component] })
  }

  const incidents: PublicIncident[] = []
  if (config.showIncidents) {
    for (const incident of inputs.incidents) {
      const components = [
        ...new Set(
          incident.monitors.flatMap((m) => (names.has(m) ? [names.get(m) as string] : [])),
        ),
      ]
      if (components.length === 0) continue
      const impact = incidentImpact(incident.severity)
      const what = impact === 'major' ? 'Outage' : 'Degraded performance'
      const updates: PublicIncidentUpdate[] = []
      let status: PublicIncidentStatus = 'investigating'
      for (const change of incident.changes) {
        if (change.kind === 'publicUpdate') {
          // The responder's own words, under the status the incident had when they wrote them.
          if (change.text) updates.push({ at: change.at, status, text: change.text })
          continue
        }
        const words = updateText[change.kind]
        if (!words) continue
        status = words.status
        updates.push({ at: change.at, ...words })
      }
      if (updates.length === 0) {
        const opened = updateText.opened as Omit<PublicIncidentUpdate, 'at'>
        updates.push({ at: incident.createdAt, ...opened })
      }
      incidents.push({
        id: incident.id,
        title: `${what}: ${components.join(', ')}`,
        status: publicIncidentStatus(incident.status),
        impact,
        components,
        startedAt: incident.createdAt,
        ...(incident.resolvedAt !== undefined ? { resolvedAt: incident.resolvedAt } : {}),
        updates: updates.reverse(),
      })
    }
  }
  incidents.sort((a, b) => b.startedAt - a.startedAt || b.id - a.id)
  const historyFrom = now - config.historyDays * dayMs

  return {
    title: config.title,
    ...(config.description !== undefined ? { description: config.description } : {}),
    ...(config.logoUrl !== undefined ? { logoUrl: config.logoUrl } : {}),
    ...(inputs.url !== undefined ? { url: inputs.url } : {}),
    generatedAt: now,
    status: overallStatus(statuses),
    groups,
    showIncidents: config.showIncidents,
    activeIncidents: incidents.filter((i) => i.status !== 'resolved'),
    pastIncidents: incidents.filter(
      (i) => i.status === 'resolved' && (i.resolvedAt ?? i.startedAt) >= historyFrom,
    ),
    maintenance: maintenance
      .sort((a, b) => (a.startsAt ?? 0) - (b.startsAt ?? 0))
      .map(({ covers, ...window }) => ({
        ...window,
        components: [...covers].map((m) => names.get(m) as string),
      })),
  }
}

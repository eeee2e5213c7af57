import { parseMatcher, type Matcher, type Weekday } from '../core/alerts/index.js'
import {
  buildStatusPageView,
  publicComponentRefs,
  statusPageConfigSchema,
  statusPageDays,
  type StatusPageConfig,
  type StatusPageMaintenanceInput,
  type StatusPageView,
} from '../core/statuspage/index.js'
import type { Executor } from '../store/dialect.js'
import { listMaintenanceWindows, type MaintenanceView } from './alerting.js'
import { getMeta, setMeta } from '../store/meta.js'
import {
  listDailyUptime,
  listStatusPageIncidents,
  listStatusPageMonitors,
} from '../store/status-page.js'

const key = 'config:statusPage'
const dayMs = 86_400_000

/** The `statusPage` section last applied, as written; null when the config has none. */
export async function readStatusPageSection(db: Executor): Promise<unknown> {
  const text = await getMeta(db, key)
  return text === undefined ? null : (JSON.parse(text) as unknown)
}

/**
 * Stores the `statusPage` section (inside the apply transaction) in `keel_meta`, like the on-call
 * sections, so every node serves the same page.
 */
export async function writeStatusPageSection(db: Executor, section: unknown): Promise<void> {
  await setMeta(db, key, JSON.stringify(section ?? null))
}

/** Where the status page reads maintenance windows from. */
export type MaintenanceSource = (db: Executor, now: number) => Promise<StatusPageMaintenanceInput[]>

/** A maintenance window as the alerting service lists it, back in the core's form. */
function maintenanceInput(view: MaintenanceView): StatusPageMaintenanceInput | undefined {
  const matchers: Matcher[] = []
  for (const text of view.matchers) {
    const parsed = parseMatcher(text)
    // A window whose matchers cannot be read is left off rather than shown on the wrong components.
    if (!parsed.ok) return undefined
    matchers.push(parsed.matcher)
  }
  return {
    id: view.id,
    title: view.title,
    ...(view.description !== undefined ? { description: view.description } : {}),
    public: view.public,
    matchers,
    timeZone: view.timeZone,
    ...(view.oneOff
      ? { oneOff: { start: Date.parse(view.oneOff.start), end: Date.parse(view.oneOff.end) } }
      : {}),
    ...(view.recurring
      ? { recurring: { ...view.recurring, days: view.recurring.days as Weekday[] } }
      : {}),
  }
}

/** The public maintenance windows, from keel.yaml and the API (`listMaintenanceWindows`). */
export const storedMaintenance: MaintenanceSource = async (db, now) =>
  (await listMaintenanceWindows(db, now)).flatMap((view) => {
    if (!view.public || view.state === 'completed') return []
    const input = maintenanceInput(view)
    return input ? [input] : []
  })

/** Options of `loadStatusPageView`. */
export interface LoadStatusPageOptions {
  now: number
  /** Keel's external URL (`server.publicUrl`); the page is `${publicUrl}/status`. */
  publicUrl?: string
  maintenance?: MaintenanceSource
}

/** A computed page and how long it may be served. */
export interface LoadedStatusPage {
  view: StatusPageView
  cacheSeconds: number
}

/**
 * Reads everything the public page shows with one set of aggregate queries and builds its view;
 * undefined when nothing is public (no `statusPage` section and no monitor marked `public`).
 */
export async function loadStatusPageView(
  db: Executor,
  options: LoadStatusPageOptions,
): Promise<LoadedStatusPage | undefined> {
  const section = await readStatusPageSection(db)
  const parsed = statusPageConfigSchema.safeParse(section ?? {})
  // The section was validated when it was applied; a stored one that no longer parses (a newer
  // node wrote it) falls back to the defaults rather than taking the page down.
  const config: StatusPageConfig = parsed.success ? parsed.data : statusPageConfigSchema.parse({})
  const named = config.groups ? publicComponentRefs(config, []).map((r) => r.monitor) : undefined
  const candidates = await listStatusPageMonitors(db, named)
  const monitors = named ? candidates : candidates.filter((m) => m.public)
  if (section === null && monitors.length === 0) return undefined
  const { now } = options
  const from = Math.floor(now / dayMs) * dayMs - (statusPageDays - 1) * dayMs
  const [days, incidents, maintenance] = [
    await listDailyUptime(db, monitors, from),
    config.showIncidents
      ? await listStatusPageIncidents(db, monitors, now - config.historyDays * dayMs)
      : [],
    await (options.maintenance ?? storedMaintenance)(db, now),
  ]
  const url = config.publicUrl ?? (options.publicUrl ? `${options.publicUrl}/status` : undefined)
  return {
    view: buildStatusPageView({
      config,
      monitors,
      days,
      incidents,
      maintenance,
      now,
      ...(url !== undefined ? { url } : {}),
    }),
    cacheSeconds: config.cacheSeconds,
  }
}

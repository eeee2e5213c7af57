import { parseMonitorSpec } from '../checks/registry.js'
import { InputError } from '../core/errors.js'
import { planChanges, type FieldChange, type Plan } from '../core/config/index.js'
import { appendAudit } from '../store/audit.js'
import { deleteChannel, listChannels, upsertChannel } from '../store/channels.js'
import {
  deleteMonitor,
  getMonitor,
  insertMonitor,
  listMonitors,
  updateMonitorSpec,
  type StoredMonitor,
} from '../store/monitors.js'
import { executeCatalogApply, planCatalogApply, type DesiredCatalog } from './catalog-apply.js'
import {
  diffAlertingSection,
  readAlertingSection,
  validateAlertingSection,
  writeAlertingSection,
} from './alerting.js'
import type { ServiceContext } from './context.js'
import {
  readIncidentsSection,
  validateIncidentsSection,
  writeIncidentsSection,
} from './incident-settings.js'
import { newPingToken, redactSpec, syncPausedState } from './monitors.js'
import {
  diffOncallSections,
  readOncallSections,
  validateOncallSections,
  writeOncallSections,
  type OncallSectionsInput,
} from './oncall.js'
import { readSharedSettings, writeSharedSettings, type SharedSettings } from './settings.js'
import { readStatusPageSection, writeStatusPageSection } from './status-page.js'

type Spec = Record<string, unknown>

/** The desired state a keel.yaml describes, with specs as written (env already expanded). */
export interface DesiredState {
  monitors: Record<string, Spec>
  channels: Record<string, Spec>
  /** For each id, the file that defined it. */
  sources: { monitors: Record<string, string>; channels: Record<string, string> }
  settings: SharedSettings
  /**
   * Users, teams, schedules, escalation policies and routes as written; absent leaves the
   * stored on-call configuration as it is.
   */
  oncall?: OncallSectionsInput
  /** The `alerting` section as written; absent leaves the stored one as it is. */
  alerting?: Record<string, unknown>
  /** The `incidents` section as written; absent leaves the stored one as it is. */
  incidents?: Record<string, unknown>
  /**
   * The `statusPage` section as written, or null when the config has none; absent leaves the
   * stored one as it is.
   */
  statusPage?: unknown
  /** Catalog entities with their Backstage imports read; absent leaves the stored catalog alone. */
  catalog?: DesiredCatalog
}

/** What an apply does: a plan per kind of object, plus changed shared settings. */
export interface ApplyPlan {
  monitors: Plan<Spec>
  channels: Plan<Spec>
  settings?: FieldChange[]
  /** On-call changes, one per user, team, schedule or policy (`escalationPolicies.dba`), and routes. */
  oncall?: FieldChange[]
  /** Alerting changes, one per top-level key of the section (`alerting.route`). */
  alerting?: FieldChange[]
  /** Incident settings changes, one per key of the section (`incidents.ackTimeout`). */
  incidents?: FieldChange[]
  /** The status page section, when it changes. */
  statusPage?: FieldChange[]
  /** Catalog entities the config defines (keel.yaml and its Backstage imports). */
  catalog?: Plan<Spec>
}

const filePrefix = 'file:'

/**
 * Objects the config owns: those from a file, and those it names (an object created through the
 * API and then written into keel.yaml is taken over by the file).
 */
function owned<T extends { source: string }>(
  rows: readonly T[],
  id: (row: T) => string,
  desired: Record<string, Spec>,
): T[] {
  return rows.filter((row) => row.source.startsWith(filePrefix) || Object.hasOwn(desired, id(row)))
}

function withSourceChanges(
  plan: Plan<Spec>,
  current: Map<string, string>,
  desired: Record<string, string>,
): Plan<Spec> {
  const update = [...plan.update]
  const unchanged: string[] = []
  for (const id of plan.unchanged) {
    const before = current.get(id)
    const after = `${filePrefix}${desired[id]}`
    if (before !== after) {
      const spec = {} as Spec
      update.push({ id, before: spec, after: spec, fields: [{ path: 'source', before, after }] })
    } else unchanged.push(id)
  }
  update.sort((a, b) => a.id.localeCompare(b.id))
  return { ...plan, update, unchanged }
}

/** Compares the store with the desired state; pure reads. */
export async function planApply(
  ctx: Pick<ServiceContext, 'db'>,
  desired: DesiredState,
): Promise<ApplyPlan> {
  const monitors = owned(await listMonitors(ctx.db), (m) => m.slug, desired.monitors)
  const channels = owned(await listChannels(ctx.db), (c) => c.slug, desired.channels)
  const monitorPlan = planChanges(
    Object.fromEntries(monitors.map((m) => [m.slug, m.spec])),
    desired.monitors,
    { prune: true },
  )
  const channelPlan = planChanges(
    Object.fromEntries(channels.map((c) => [c.slug, c.spec])),
    desired.channels,
    { prune: true },
  )
  const settingsBefore = await readSharedSettings(ctx.db)
  const settingsChange =
    JSON.stringify(settingsBefore) === JSON.stringify(desired.settings)
      ? undefined
      : [
          {
            path: 'defaults.channels',
            before: settingsBefore.defaultChannels,
            after: desired.settings.defaultChannels,
          },
        ]
  const oncallChanges =
    desired.oncall === undefined
      ? []
      : diffOncallSections(await readOncallSections(ctx.db), desired.oncall)
  const alertingChanges =
    desired.alerting === undefined
      ? []
      : diffAlertingSection(await readAlertingSection(ctx.db), desired.alerting)
  const incidentsChanges =
    desired.incidents === undefined
      ? []
      : diffIncidentsSection(await readIncidentsSection(ctx.db), desired.incidents)
  const statusPageBefore =
    desired.statusPage === undefined ? undefined : await readStatusPageSection(ctx.db)
  const statusPageChange =
    desired.statusPage === undefined ||
    JSON.stringify(statusPageBefore) === JSON.stringify(desired.statusPage)
      ? undefined
      : [{ path: 'statusPage', before: statusPageBefore, after: desired.statusPage }]
  const catalogPlan =
    desired.catalog === undefined ? undefined : await planCatalogApply(ctx.db, desired.catalog)
  return {
    monitors: withSourceChanges(
      monitorPlan,
      new Map(monitors.map((m) => [m.slug, m.source])),
      desired.sources.monitors,
    ),
    channels: withSourceChanges(
      channelPlan,
      new Map(channels.map((c) => [c.slug, c.source])),
      desired.sources.channels,
    ),
    ...(settingsChange ? { settings: settingsChange } : {}),
    ...(oncallChanges.length > 0 ? { oncall: oncallChanges } : {}),
    ...(alertingChanges.length > 0 ? { alerting: alertingChanges } : {}),
    ...(incidentsChanges.length > 0 ? { incidents: incidentsChanges } : {}),
    ...(statusPageChange ? { statusPage: statusPageChange } : {}),
    ...(catalogPlan ? { catalog: catalogPlan } : {}),
  }
}

/** True when applying would change nothing. */
export function planIsEmpty(plan: ApplyPlan): boolean {
  return (
    plan.settings === undefined &&
    plan.oncall === undefined &&
    plan.alerting === undefined &&
    plan.incidents === undefined &&
    plan.statusPage === undefined &&
    [plan.monitors, plan.channels, ...(plan.catalog ? [plan.catalog] : [])].every(
      (p) => p.create.length + p.update.length + p.delete.length === 0,
    )
  )
}

/**
 * Applies the desired state in one transaction: creates, updates and deletes monitors and
 * channels, writes shared settings, and audits each change. Runtime state (up/down, history) of
 * updated monitors is kept; a monitor's pause set by an operator survives unless the file says
 * `paused`.
 */
export async function executeApply(ctx: ServiceContext, desired: DesiredState): Promise<ApplyPlan> {
  for (const [id, spec] of Object.entries(desired.monitors)) {
    const parsed = parseMonitorSpec(spec)
    if (!parsed.ok) throw new InputError(`monitor ${id} is invalid; run keel validate to see why`)
  }
  const tokens = new Map<string, string>()
  for (const [id, spec] of Object.entries(desired.monitors)) {
    if (typeof spec.token !== 'string') continue
    const other = tokens.get(spec.token)
    if (other) {
      throw new InputError(
        `monitors ${other} and ${id} use the same heartbeat token; give each its own`,
      )
    }
    tokens.set(spec.token, id)
  }
  if (desired.oncall !== undefined) {
    validateOncallSections(desired.oncall, Object.keys(desired.channels))
  }
  if (desired.alerting !== undefined) validateAlertingSection(desired.alerting)
  if (desired.incidents !== undefined) validateIncidentsSection(desired.incidents)
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    const plan = await planApply({ db: trx as never }, desired)
    const audit = (action: string, objectType: string, objectId: string, details: unknown) =>
      appendAudit(trx, {
        at: now,
        actor: ctx.actor.name,
        action,
        objectType,
        objectId,
        ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
        details,
      })

    for (const { id, value } of [
      ...plan.channels.create,
      ...plan.channels.update.map((u) => ({ id: u.id, value: desired.channels[u.id] as Spec })),
    ]) {
      await upsertChannel(
        trx,
        {
          slug: id,
          type: String(value.type),
          spec: value,
          source: `${filePrefix}${desired.sources.channels[id]}`,
        },
        now,
      )
      await audit('channel.apply', 'channel', id, {})
    }
    for (const { id } of plan.channels.delete) {
      await deleteChannel(trx, id)
      await audit('channel.delete', 'channel', id, {})
    }

    for (const { id, value } of plan.monitors.create) {
      const existing = await getMonitor(trx, id)
      if (existing) continue
      await insertMonitor(
        trx,
        {
          slug: id,
          type: String(value.type),
          spec: value,
          source: `${filePrefix}${desired.sources.monitors[id]}`,
          paused: value.paused === true,
          ...(value.type === 'heartbeat' ? { pingToken: pingTokenFor(value) } : {}),
        },
        now,
        now + Math.floor(Math.random() * 1_000),
      )
      await audit('monitor.create', 'monitor', id, { after: redactSpec(value) })
    }
    for (const change of plan.monitors.update) {
      const spec = desired.monitors[change.id] as Spec
      const existing = (await getMonitor(trx, change.id)) as StoredMonitor
      const updated = await updateMonitorSpec(
        trx,
        change.id,
        {
          type: String(spec.type),
          spec,
          source: `${filePrefix}${desired.sources.monitors[change.id]}`,
          paused: typeof spec.paused === 'boolean' ? spec.paused : existing.paused,
        },
        now,
      )
      if (updated) await syncPausedState(trx, updated, now)
      if (
        spec.type === 'heartbeat' &&
        typeof spec.token === 'string' &&
        existing.pingToken !== spec.token
      ) {
        await trx
          .updateTable('monitors')
          .set({ ping_token: spec.token })
          .where('id', '=', existing.id)
          .execute()
      } else if (spec.type === 'heartbeat' && !existing.pingToken) {
        await trx
          .updateTable('monitors')
          .set({ ping_token: newPingToken() })
          .where('id', '=', existing.id)
          .execute()
      }
      await audit('monitor.update', 'monitor', change.id, {
        before: redactSpec(existing.spec),
        after: redactSpec(spec),
      })
    }
    for (const { id, value } of plan.monitors.delete) {
      await deleteMonitor(trx, id)
      await audit('monitor.delete', 'monitor', id, { before: redactSpec(value) })
    }
    if (plan.settings) {
      await writeSharedSettings(trx, desired.settings)
      await audit('settings.apply', 'settings', 'defaults', { changes: plan.settings })
    }
    if (plan.alerting && desired.alerting !== undefined) {
      await writeAlertingSection(trx, desired.alerting)
      await audit('alerting.apply', 'alerting', 'config', { changes: plan.alerting })
    }
    if (plan.incidents && desired.incidents !== undefined) {
      await writeIncidentsSection(trx, desired.incidents)
      await audit('incidents.apply', 'incidents', 'config', { changes: plan.incidents })
    }
    if (plan.oncall && desired.oncall !== undefined) {
      await writeOncallSections(trx, desired.oncall)
      await audit('oncall.apply', 'oncall', 'config', {
        changed: plan.oncall.map((change) => change.path),
      })
    }
    if (plan.statusPage && desired.statusPage !== undefined) {
      await writeStatusPageSection(trx, desired.statusPage)
      await audit('statusPage.apply', 'statusPage', 'config', {})
    }
    if (plan.catalog && desired.catalog !== undefined) {
      await executeCatalogApply(trx, plan.catalog, desired.catalog, now, audit)
    }
    return plan
  })
}

/** The changes between two `incidents` sections, one per key (`incidents.autoResolve`). */
function diffIncidentsSection(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): FieldChange[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort()
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ path: `incidents.${k}`, before: before[k], after: after[k] }))
}

/** A heartbeat's ping token: the one the file fixes (`token:`), or a new random one. */
function pingTokenFor(spec: Spec): string {
  return typeof spec.token === 'string' && spec.token !== '' ? spec.token : newPingToken()
}

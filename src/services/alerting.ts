import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import {
  alertingConfigSchema,
  formatMatcher,
  maintenanceState,
  maintenanceWindowSchema,
  silenceSchema,
  silenceState,
  type AlertingConfig,
  type DescribedMaintenanceWindow,
  type Labels,
  type MaintenanceState,
  type MaintenanceWindow,
  type Silence,
  type SilenceState,
  type SuppressionInputs,
} from '../core/alerts/index.js'
import { InputError, NotFoundError } from '../core/errors.js'
import { parseDuration } from '../core/time.js'
import { getAlert } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import type { Executor } from '../store/dialect.js'
import { getMeta, setMeta } from '../store/meta.js'
import {
  deleteMaintenanceWindow,
  expireSilence,
  getSilence,
  insertMaintenanceWindow,
  insertSilence,
  listFiringAlertLabels,
  listMaintenanceRows,
  listSilences,
  type StoredMaintenanceWindow,
  type StoredSilence,
} from '../store/noise.js'
import { requireTeamAccess } from './auth.js'
import type { ServiceContext } from './context.js'

const metaKey = 'alerting'

/** How the `alerting` section of keel.yaml changed, one entry per top-level key. */
export interface AlertingChange {
  path: string
  before: unknown
  after: unknown
}

/** The stored `alerting` document as written (before defaults). */
export async function readAlertingSection(db: Executor): Promise<Record<string, unknown>> {
  const text = await getMeta(db, metaKey)
  return text === undefined ? {} : (JSON.parse(text) as Record<string, unknown>)
}

/** Throws an InputError naming the first problem when the section does not validate. */
export function validateAlertingSection(section: unknown): AlertingConfig {
  const parsed = alertingConfigSchema.safeParse(section ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = ['alerting', ...(issue?.path ?? [])].join('.')
    throw new InputError(`${path}: ${issue?.message ?? 'is invalid'}`)
  }
  return parsed.data
}

/** The changes between two `alerting` sections, by top-level key. */
export function diffAlertingSection(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): AlertingChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ path: `alerting.${k}`, before: before[k], after: after[k] }))
}

/** Stores the `alerting` section as written; every node reads it from the store. */
export async function writeAlertingSection(
  db: Executor,
  section: Record<string, unknown>,
): Promise<void> {
  await setMeta(db, metaKey, JSON.stringify(section))
}

let cache: { text: string; config: AlertingConfig } | undefined

/** The applied `alerting` configuration, validated; parsed once per distinct stored document. */
export async function readAlertingConfig(db: Executor): Promise<AlertingConfig> {
  const text = (await getMeta(db, metaKey)) ?? '{}'
  if (cache?.text === text) return cache.config
  const parsed = alertingConfigSchema.safeParse(JSON.parse(text))
  if (!parsed.success) {
    throw new Error(
      `the stored alerting configuration does not validate (${parsed.error.issues[0]?.message ?? ''}); run keel apply with this version of Keel`,
    )
  }
  cache = { text, config: parsed.data }
  return parsed.data
}

/** A stored silence parsed into the core form; undefined when it no longer parses. */
function coreSilence(stored: StoredSilence): Silence | undefined {
  const parsed = silenceSchema.safeParse({
    id: stored.id,
    matchers: stored.matchers,
    startsAt: stored.startsAt,
    endsAt: stored.endsAt,
    createdBy: stored.createdBy,
    comment: stored.comment,
    ...(stored.recurrence ? { recurrence: stored.recurrence } : {}),
  })
  return parsed.success ? (parsed.data as Silence) : undefined
}

function coreMaintenance(stored: StoredMaintenanceWindow): MaintenanceWindow | undefined {
  const parsed = maintenanceWindowSchema.safeParse({
    id: stored.id,
    title: stored.title,
    matchers: stored.matchers,
    timeZone: stored.timeZone,
    ...(stored.oneOff ? { oneOff: stored.oneOff } : {}),
    ...(stored.recurring ? { recurring: stored.recurring } : {}),
  })
  return parsed.success ? parsed.data : undefined
}

/** Every maintenance window in force: keel.yaml's and the API's, parsed. */
async function allMaintenance(
  db: Executor,
  config: AlertingConfig,
): Promise<{ window: MaintenanceWindow; stored?: StoredMaintenanceWindow }[]> {
  const rows = await listMaintenanceRows(db)
  const fromApi = rows.flatMap((stored) => {
    const window = coreMaintenance(stored)
    return window ? [{ window, stored }] : []
  })
  return [...config.maintenance.map((window) => ({ window })), ...fromApi]
}

/**
 * What suppression decisions read, loaded once per batch of alert events: live silences,
 * maintenance windows and, only when inhibit rules exist, the firing alerts that may inhibit.
 */
export async function loadSuppressionInputs(
  db: Executor,
  config: AlertingConfig,
  now: number,
): Promise<SuppressionInputs> {
  const silences = (await listSilences(db, { endingAfter: now })).flatMap((stored) => {
    const silence = coreSilence(stored)
    return silence ? [silence] : []
  })
  const maintenance = (await allMaintenance(db, config)).map((entry) => entry.window)
  const firing =
    config.inhibitRules.length === 0
      ? []
      : (await listFiringAlertLabels(db))
          .filter((alert) => alert.suppressedBy === undefined)
          .map((alert) => ({ fingerprint: alert.fingerprint, labels: alert.labels }))
  return { silences, maintenance, inhibitRules: config.inhibitRules, firing }
}

/** A silence as the API and the CLI show it. */
export interface SilenceView {
  id: string
  matchers: string[]
  startsAt: string
  endsAt: string
  comment: string
  createdBy: string
  state: SilenceState
  recurrence?: StoredSilence['recurrence']
}

function silenceView(stored: StoredSilence, now: number): SilenceView {
  const silence = coreSilence(stored)
  return {
    id: stored.id,
    matchers: stored.matchers,
    startsAt: new Date(stored.startsAt).toISOString(),
    endsAt: new Date(stored.endsAt).toISOString(),
    comment: stored.comment,
    createdBy: stored.createdBy,
    state: silence ? silenceState(silence, now) : 'expired',
    ...(stored.recurrence ? { recurrence: stored.recurrence } : {}),
  }
}

const instantInput = z.union([z.string(), z.number()])

/** The body of `POST /api/v1/silences` and the options of `keel silence add`. */
export const createSilenceSchema = z.strictObject({
  matchers: z
    .union([z.string(), z.array(z.string())])
    .describe('Alertmanager matchers such as service="db-main" or ["a=b", "c=~\\"x|y\\""].'),
  startsAt: instantInput.optional().describe('ISO 8601 with offset or epoch ms; default now.'),
  endsAt: instantInput.optional().describe('ISO 8601 with offset or epoch ms.'),
  duration: z.string().optional().describe('How long from startsAt, such as 2h; default 2h.'),
  comment: z.string().describe('Why; required, as in Alertmanager.'),
  recurrence: z
    .object({
      days: z.array(z.string()),
      from: z.string(),
      to: z.string(),
      timeZone: z.string(),
      until: instantInput.optional(),
    })
    .optional()
    .describe('Mute only inside these weekly windows, such as Saturdays 01:00-05:00.'),
})

/** A silence to create, as the API body or CLI options give it. */
export type CreateSilenceInput = z.input<typeof createSilenceSchema>

const defaultSilenceMs = 2 * 3_600_000

function toInstant(value: string | number, field: string): number {
  const ms = typeof value === 'number' ? value : Date.parse(value)
  if (!Number.isFinite(ms)) {
    throw new InputError(
      `\`${field}\` must be an ISO 8601 date-time with an offset, such as 2026-12-06T10:00:00Z, or epoch milliseconds; got ${JSON.stringify(value)}`,
    )
  }
  return ms
}

/** Creates a silence (operators and up) and re-evaluates which firing alerts are muted. */
export async function createSilence(
  ctx: ServiceContext,
  input: CreateSilenceInput,
): Promise<SilenceView> {
  const body = createSilenceSchema.safeParse(input)
  if (!body.success) {
    const issue = body.error.issues[0]
    throw new InputError(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'is invalid'}`)
  }
  const now = ctx.clock.now()
  const startsAt =
    body.data.startsAt === undefined ? now : toInstant(body.data.startsAt, 'startsAt')
  let endsAt: number
  if (body.data.endsAt !== undefined) {
    if (body.data.duration !== undefined) {
      throw new InputError('give `endsAt` or `duration`, not both')
    }
    endsAt = toInstant(body.data.endsAt, 'endsAt')
  } else {
    const ms =
      body.data.duration === undefined ? defaultSilenceMs : parseDuration(body.data.duration)
    if (ms === undefined || ms <= 0) {
      throw new InputError(
        `\`duration\` must be a positive duration such as 30m or 2h, got ${JSON.stringify(body.data.duration)}`,
      )
    }
    endsAt = startsAt + ms
  }
  const id = randomUUID()
  const rawRecurrence = body.data.recurrence
    ? {
        ...body.data.recurrence,
        until:
          body.data.recurrence.until === undefined
            ? undefined
            : toInstant(body.data.recurrence.until, 'recurrence.until'),
      }
    : undefined
  const recurrence: StoredSilence['recurrence'] = rawRecurrence
    ? {
        days: rawRecurrence.days,
        from: rawRecurrence.from,
        to: rawRecurrence.to,
        timeZone: rawRecurrence.timeZone,
        ...(rawRecurrence.until !== undefined ? { until: rawRecurrence.until } : {}),
      }
    : undefined
  const matchers =
    typeof body.data.matchers === 'string' ? [body.data.matchers] : body.data.matchers
  const parsed = silenceSchema.safeParse({
    id,
    matchers,
    startsAt,
    endsAt,
    createdBy: ctx.actor.user ?? ctx.actor.name,
    comment: body.data.comment,
    ...(recurrence ? { recurrence } : {}),
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = issue?.path.join('.') ?? ''
    throw new InputError(`${path === '' ? '' : `${path}: `}${issue?.message ?? 'is invalid'}`)
  }
  const stored: StoredSilence = {
    id,
    // Normalised text, so `a=b` and `a="b"` read the same in the list.
    matchers: parsed.data.matchers.map((m) => formatMatcher(m)),
    startsAt,
    endsAt,
    ...(recurrence ? { recurrence } : {}),
    comment: parsed.data.comment,
    createdBy: parsed.data.createdBy,
    createdAt: now,
    updatedAt: now,
  }
  requireTeamMatcher(ctx, 'silence', id, stored.matchers)
  await ctx.db.transaction().execute(async (trx) => {
    await insertSilence(trx, stored)
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'silence.create',
      objectType: 'silence',
      objectId: id,
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: { after: stored },
    })
  })
  return silenceView(stored, now)
}

/**
 * Team scope for silences and maintenance windows: an actor scoped to teams may only make or
 * end ones that carry an exact `team="<one of theirs>"` matcher, so a team mutes only its own
 * alerts. Unscoped actors pass (the route guard has checked their role).
 */
function requireTeamMatcher(
  ctx: ServiceContext,
  kind: 'silence' | 'maintenance window',
  id: string,
  matchers: readonly string[],
): void {
  if (ctx.actor.teams === undefined) return
  const team = matchers
    .map((text) => /^team="((?:[^"\\]|\\.)*)"$/.exec(text.trim())?.[1])
    .find((value) => value !== undefined)
  requireTeamAccess(ctx.actor, 'operator', { type: kind, id, team })
}

/** Labels of a silence made from one alert: all of them, so it mutes exactly that alert. */
function matchersForLabels(labels: Labels): string[] {
  return Object.entries(labels)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
}

/** One click from an alert: a silence of exactly its labels for `duration` (default 2h). */
export async function createSilenceForAlert(
  ctx: ServiceContext,
  fingerprint: string,
  options: { duration?: string; comment?: string } = {},
): Promise<SilenceView> {
  const alert = await getAlert(ctx.db, fingerprint)
  if (!alert) throw new NotFoundError(`alert ${fingerprint} does not exist`)
  return createSilence(ctx, {
    matchers: matchersForLabels(alert.labels),
    ...(options.duration ? { duration: options.duration } : {}),
    comment:
      options.comment && options.comment.trim() !== ''
        ? options.comment
        : `silenced from alert ${alert.labels.alertname ?? fingerprint}`,
  })
}

/** Silences for the API and the CLI, optionally of one state. */
export async function listSilenceViews(
  ctx: { db: Executor; clock: { now(): number } },
  filter: { state?: SilenceState } = {},
): Promise<SilenceView[]> {
  const now = ctx.clock.now()
  const views = (await listSilences(ctx.db)).map((s) => silenceView(s, now))
  return filter.state ? views.filter((v) => v.state === filter.state) : views
}

/** Expires a silence now (a pending one never starts). */
export async function expireSilenceById(ctx: ServiceContext, id: string): Promise<SilenceView> {
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    const before = await getSilence(trx, id)
    if (!before) throw new NotFoundError(`silence ${id} does not exist`)
    requireTeamMatcher(ctx, 'silence', id, before.matchers)
    if (await expireSilence(trx, id, now)) {
      await appendAudit(trx, {
        at: now,
        actor: ctx.actor.name,
        action: 'silence.expire',
        objectType: 'silence',
        objectId: id,
        ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
        details: { before, after: { ...before, endsAt: now } },
      })
    }
    return silenceView((await getSilence(trx, id)) as StoredSilence, now)
  })
}

/** A maintenance window as the API, the CLI and the status page show it. */
export interface MaintenanceView {
  id: string
  title: string
  description?: string
  matchers: string[]
  timeZone: string
  oneOff?: { start: string; end: string }
  recurring?: { days: string[]; from: string; to: string }
  state: MaintenanceState
  /** `config` for keel.yaml windows (read-only through the API), `api` for the rest. */
  source: 'config' | 'api'
  public: boolean
}

function maintenanceView(
  window: MaintenanceWindow,
  extra: { description?: string; public: boolean; source: 'config' | 'api' },
  now: number,
): MaintenanceView {
  return {
    id: window.id,
    title: window.title,
    ...(extra.description !== undefined ? { description: extra.description } : {}),
    matchers: window.matchers.map((m) => formatMatcher(m)),
    timeZone: window.timeZone,
    ...(window.oneOff
      ? {
          oneOff: {
            start: new Date(window.oneOff.start).toISOString(),
            end: new Date(window.oneOff.end).toISOString(),
          },
        }
      : {}),
    ...(window.recurring
      ? { recurring: { ...window.recurring, days: [...window.recurring.days] } }
      : {}),
    state: maintenanceState(window, now),
    source: extra.source,
    public: extra.public,
  }
}

/** Every maintenance window (keel.yaml's, then the API's) with its state at `now`. */
export async function listMaintenanceWindows(
  db: Executor,
  now: number,
): Promise<MaintenanceView[]> {
  const config = await readAlertingConfig(db)
  const fromConfig = config.maintenance.map((w: DescribedMaintenanceWindow) =>
    maintenanceView(
      w,
      {
        ...(w.description !== undefined ? { description: w.description } : {}),
        public: w.public,
        source: 'config',
      },
      now,
    ),
  )
  const fromApi = (await listMaintenanceRows(db)).flatMap((stored) => {
    const window = coreMaintenance(stored)
    return window
      ? [
          maintenanceView(
            window,
            {
              ...(stored.description !== undefined ? { description: stored.description } : {}),
              public: stored.public,
              source: 'api',
            },
            now,
          ),
        ]
      : []
  })
  return [...fromConfig, ...fromApi]
}

/** The body of `POST /api/v1/maintenance`. */
export const createMaintenanceSchema = z.strictObject({
  id: z.string().optional().describe('Optional id; a random one by default.'),
  title: z.string(),
  description: z.string().optional(),
  matchers: z.union([z.string(), z.array(z.string())]),
  timeZone: z.string().default('UTC'),
  oneOff: z.object({ start: instantInput, end: instantInput }).optional(),
  recurring: z.object({ days: z.array(z.string()), from: z.string(), to: z.string() }).optional(),
  public: z.boolean().default(false),
})

/** Creates a maintenance window through the API (operators and up). */
export async function createMaintenance(
  ctx: ServiceContext,
  input: z.input<typeof createMaintenanceSchema>,
): Promise<MaintenanceView> {
  const body = createMaintenanceSchema.safeParse(input)
  if (!body.success) {
    const issue = body.error.issues[0]
    throw new InputError(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'is invalid'}`)
  }
  const now = ctx.clock.now()
  const id = body.data.id ?? randomUUID()
  const parsed = maintenanceWindowSchema.safeParse({
    id,
    title: body.data.title,
    matchers: body.data.matchers,
    timeZone: body.data.timeZone,
    ...(body.data.oneOff ? { oneOff: body.data.oneOff } : {}),
    ...(body.data.recurring ? { recurring: body.data.recurring } : {}),
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = issue?.path.join('.') ?? ''
    throw new InputError(`${path === '' ? '' : `${path}: `}${issue?.message ?? 'is invalid'}`)
  }
  const config = await readAlertingConfig(ctx.db)
  if (config.maintenance.some((w) => w.id === id)) {
    throw new InputError(`maintenance window ${id} is defined in keel.yaml; choose another id`)
  }
  const window = parsed.data
  const stored: StoredMaintenanceWindow = {
    id,
    title: window.title,
    ...(body.data.description !== undefined ? { description: body.data.description } : {}),
    matchers: window.matchers.map((m) => formatMatcher(m)),
    timeZone: window.timeZone,
    ...(window.oneOff ? { oneOff: window.oneOff } : {}),
    ...(window.recurring
      ? { recurring: { ...window.recurring, days: [...window.recurring.days] } }
      : {}),
    public: body.data.public,
    createdBy: ctx.actor.user ?? ctx.actor.name,
    createdAt: now,
    updatedAt: now,
  }
  requireTeamMatcher(ctx, 'maintenance window', id, stored.matchers)
  await ctx.db.transaction().execute(async (trx) => {
    if ((await listMaintenanceRows(trx)).some((w) => w.id === id)) {
      throw new InputError(`maintenance window ${id} already exists; choose another id`)
    }
    await insertMaintenanceWindow(trx, stored)
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'maintenance.create',
      objectType: 'maintenance',
      objectId: id,
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: { after: stored },
    })
  })
  return maintenanceView(
    window,
    {
      ...(stored.description !== undefined ? { description: stored.description } : {}),
      public: stored.public,
      source: 'api',
    },
    now,
  )
}

/** Deletes an API-made maintenance window; keel.yaml ones are changed in the file. */
export async function deleteMaintenance(ctx: ServiceContext, id: string): Promise<void> {
  const config = await readAlertingConfig(ctx.db)
  if (config.maintenance.some((w) => w.id === id)) {
    throw new InputError(
      `maintenance window ${id} comes from keel.yaml; remove it there and run keel apply`,
    )
  }
  const now = ctx.clock.now()
  const existing = (await listMaintenanceRows(ctx.db)).find((w) => w.id === id)
  if (existing) requireTeamMatcher(ctx, 'maintenance window', id, existing.matchers)
  await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteMaintenanceWindow(trx, id))) {
      throw new NotFoundError(`maintenance window ${id} does not exist`)
    }
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'maintenance.delete',
      objectType: 'maintenance',
      objectId: id,
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
    })
  })
}

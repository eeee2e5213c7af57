import { marked } from 'marked'
import { formatMatchers, monitorAlertLabels, type Labels } from '../core/alerts/index.js'
import { entityOfLabels } from '../core/catalog/index.js'
import { parseMonitorSpec } from '../checks/registry.js'
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '../core/errors.js'
import {
  applyRunEvent,
  approvalPermission,
  autoRunPermission,
  autoRunWindowMs,
  filterRunbooks,
  findAnswer,
  isFinished,
  needsApproval,
  planRun,
  redactedValue,
  redactParameters,
  redactSecrets,
  renderHttpRequest,
  resolveParameters,
  runPermission,
  secretParameterNames,
  secretRedactor,
  secretValues,
  shellPath,
  startRun,
  type CommandStep,
  type ResumePoint,
  type HttpStep,
  type RunbookActor,
  type Runbook,
  type RunbookFilter,
  type RunEvent,
  type RunPlan,
  type RunState,
  type StepOutcome,
} from '../core/runbooks/index.js'
import type { Clock } from '../core/time.js'
import { loadRunbooks, parseRunbookFile, type RunbookFileIssue } from '../runbooks/load.js'
import {
  canInspectProcesses,
  isLeftoverGroup,
  isSameProcess,
  killProcessGroup,
  processStartTime,
  thisHost,
} from '../runbooks/process-group.js'
import { maxStepOutputBytes, runCommand } from '../runbooks/run-command.js'
import { runHttp } from '../runbooks/run-http.js'
import { getAlert } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import { getEntity } from '../store/catalog.js'
import { getMonitor } from '../store/monitors.js'
import type { Db, Executor } from '../store/dialect.js'
import { appendTimeline, getIncident } from '../store/incidents.js'
import {
  automaticRunStarts,
  claimRunLease,
  clearRunCommand,
  finishRunStep,
  getRunbookRun,
  getRunLease,
  insertRunbookRun,
  insertRunStep,
  interruptRunSteps,
  listRunbookRuns,
  listRunLeases,
  listRunSteps,
  markRunInterrupted,
  openRunParams,
  releaseRunLease,
  renewRunLease,
  setRunCommand,
  updateRunState,
  updateRunStepOutput,
  type RunDriver,
  type RunLease,
  type StoredRunbookRun,
  type StoredRunStep,
} from '../store/runbooks.js'
import { isEncrypted, secretBoxOf } from '../store/secrets.js'
import { requireTeamAccess } from './auth.js'
import { personOf, type Actor, type ServiceContext } from './context.js'

/** Something that happened to a run this process is executing, for live output. */
export type RunOutputEvent =
  | { type: 'output'; runId: number; step: string; chunk: string }
  | {
      type: 'step'
      runId: number
      step: string
      status: 'running' | 'done' | 'failed'
      summary?: string
    }
  | { type: 'state'; runId: number; state: RunState }

/** Live output of the runs this process executes: listeners per run, and the running step's text. */
export class RunOutputHub {
  readonly #listeners = new Map<number, Set<(event: RunOutputEvent) => void>>()
  readonly #partial = new Map<number, { step: string; text: string }>()
  readonly #everything = new Set<(event: RunOutputEvent) => void>()

  /** Calls `listener` with every event of every run (the CLI, which starts runs itself). */
  subscribeAll(listener: (event: RunOutputEvent) => void): () => void {
    this.#everything.add(listener)
    return () => this.#everything.delete(listener)
  }

  /** Calls `listener` with each event of the run until the returned function is called. */
  subscribe(runId: number, listener: (event: RunOutputEvent) => void): () => void {
    const set = this.#listeners.get(runId) ?? new Set()
    set.add(listener)
    this.#listeners.set(runId, set)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.#listeners.delete(runId)
    }
  }

  /** The output so far of the step the run is executing, if any. */
  partial(runId: number): { step: string; text: string } | undefined {
    return this.#partial.get(runId)
  }

  /** Sends an event to the run's listeners. */
  emit(event: RunOutputEvent): void {
    if (event.type === 'output') {
      const current = this.#partial.get(event.runId)
      // The partial text is only for late subscribers; the step row keeps the capped output.
      if (current?.step === event.step && current.text.length < 64 * 1024)
        current.text += event.chunk
    } else if (event.type === 'step') {
      if (event.status === 'running') this.#partial.set(event.runId, { step: event.step, text: '' })
      else this.#partial.delete(event.runId)
    }
    for (const listener of this.#listeners.get(event.runId) ?? []) listener(event)
    for (const listener of this.#everything) listener(event)
  }
}

/** Where runbooks come from and where their runs report, shared by the API and the CLI. */
export interface RunbookSettings {
  /** Folders (or `.md` files) of runbooks, already resolved against the keel.yaml directory. */
  paths: readonly string[]
  hub: RunOutputHub
  /** The working directory of command steps (the keel.yaml directory by default). */
  cwd?: string
  /** Who executes steps here: the node id (`KEEL_NODE_ID`, else the host name) and this process. */
  driver?: RunDriver
  /** How long a run's lease holds without renewal (30 s); a dead node's runs wait this long. */
  leaseMs?: number
  /** How often a running step checks its run (cancelled elsewhere?) and renews its lease (1 s). */
  watchMs?: number
  /** How long output may wait before it is written to the store (250 ms). */
  outputFlushMs?: number
}

/** The lease a run's step holds while a node executes it, unless the settings say otherwise. */
export const defaultRunLeaseMs = 30_000

/** The identity of this process as a runbook step driver. */
export function localRunDriver(node?: string): RunDriver {
  const started = processStartTime(process.pid)
  return {
    node: node ?? thisHost(),
    host: thisHost(),
    pid: process.pid,
    ...(started !== undefined ? { started } : {}),
  }
}

function driverOf(settings: RunbookSettings): RunDriver {
  settings.driver ??= localRunDriver()
  return settings.driver
}

/** A runbook as lists show it. */
export interface RunbookSummary {
  name: string
  title: string
  description?: string
  roles: string[]
  entities: string[]
  /** Each `alerts` entry as a matcher list, `{alertname="DiskFull"}`. */
  alerts: string[]
  parameters: Runbook['parameters']
  runRole: Runbook['runRole']
  approveRole: Runbook['approveRole']
  needsApproval: boolean
  autoRun: boolean
  steps: number
}

/** A runbook with its document rendered and its steps. */
export interface RunbookDetail extends RunbookSummary {
  html: string
  markdown: string
  stepList: Runbook['steps']
}

/** A run with the steps it took and where it stands. */
export interface RunbookRunDetail extends Omit<StoredRunbookRun, 'runbookSource'> {
  steps: StoredRunStep[]
  /** The step the run waits at, with what it asks, while running. */
  current?: Runbook['steps'][number]
  /** The runbook's steps in document order (id, title, kind), for a progress view. */
  outline: { id: string; title: string; kind: string; dangerous: boolean }[]
}

function summary(runbook: Runbook): RunbookSummary {
  return {
    name: runbook.name,
    title: runbook.title,
    ...(runbook.description !== undefined ? { description: runbook.description } : {}),
    roles: runbook.roles,
    entities: runbook.entities,
    alerts: runbook.alerts.map(formatMatchers),
    parameters: runbook.parameters.map((p) =>
      p.secret && p.default !== undefined ? { ...p, default: redactedValue } : p,
    ),
    runRole: runbook.runRole,
    approveRole: runbook.approveRole,
    needsApproval: needsApproval(runbook),
    autoRun: runbook.autoRun?.enabled ?? false,
    steps: runbook.steps.length,
  }
}

function actorOfContext(actor: Actor): RunbookActor {
  return {
    name: actor.name,
    ...(actor.user !== undefined ? { user: actor.user } : {}),
    person: personOf(actor),
    role: actor.role,
    teams: Object.keys(actor.teams ?? {}),
  }
}

function bodyOf(source: string): string {
  return source.replace(/^---\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)\s*(?:\r?\n|$)/, '')
}

function snapshotOf(run: StoredRunbookRun): Runbook {
  const parsed = parseRunbookFile(`${run.runbook}.md`, run.runbookSource)
  // The source was valid when the run started and the parser is deterministic.
  if (!parsed.ok) throw new Error(`run ${run.id}: its runbook no longer parses`)
  return parsed.runbook
}

/** A run as it is shown to anyone: its sealed (secret) parameter values as `<redacted>`. */
export function redactRun<T extends { params: Record<string, string> }>(run: T): T {
  return {
    ...run,
    params: Object.fromEntries(
      Object.entries(run.params).map(([name, value]) => [
        name,
        isEncrypted(value) ? redactedValue : value,
      ]),
    ),
  }
}

/** Every runbook in the configured folders, filtered, with the files that failed to load. */
export async function listRunbooks(
  settings: RunbookSettings | undefined,
  filter: RunbookFilter = {},
): Promise<{ runbooks: RunbookSummary[]; issues: RunbookFileIssue[] }> {
  if (settings === undefined) return { runbooks: [], issues: [] }
  const library = await loadRunbooks(settings.paths)
  return { runbooks: filterRunbooks(library.runbooks, filter).map(summary), issues: library.issues }
}

async function findRunbook(settings: RunbookSettings | undefined, name: string): Promise<Runbook> {
  const library = settings ? await loadRunbooks(settings.paths) : { runbooks: [], issues: [] }
  const runbook = library.runbooks.find((r) => r.name === name)
  if (runbook) return runbook
  const broken = library.issues.filter((i) => i.file.endsWith(`/${name}.md`))
  if (broken.length > 0) {
    throw new InputError(
      `runbook ${name} has problems and cannot be used: ${broken.map((i) => `${i.line ? `line ${i.line}: ` : ''}${i.message}`).join('; ')}`,
    )
  }
  throw new NotFoundError(
    `no runbook named ${name}; see \`keel runbook list\` or GET /api/v1/runbooks`,
  )
}

/** One runbook: its document as HTML, its markdown and its steps. */
export async function getRunbookDetail(
  settings: RunbookSettings | undefined,
  name: string,
): Promise<RunbookDetail> {
  const runbook = await findRunbook(settings, name)
  const markdown = bodyOf(runbook.source)
  // Runbooks are trusted config (like keel.yaml), so their HTML is rendered as written.
  const html = await marked.parse(markdown, { gfm: true })
  return { ...summary(runbook), html, markdown, stepList: runbook.steps }
}

/** The runbooks that answer the alert with this fingerprint (its labels match their `alerts`). */
export async function runbooksForAlert(
  ctx: Pick<ServiceContext, 'db'>,
  settings: RunbookSettings | undefined,
  fingerprint: string,
): Promise<RunbookSummary[]> {
  const alert = await getAlert(ctx.db, fingerprint)
  if (!alert) throw new NotFoundError(`no alert has fingerprint ${fingerprint}`)
  return (await listRunbooks(settings, { labels: alert.labels as Labels })).runbooks
}

/** Why a runbook is listed for a monitor: it answers the monitor's alert, names the monitor's entity (or the entity names it), or the monitor's `runbook` field names it. */
export type MonitorRunbookMatch = 'alert' | 'entity' | 'monitor'

/** A runbook listed for a monitor, with the reasons it matches. */
export interface MonitorRunbook extends RunbookSummary {
  matchedBy: MonitorRunbookMatch[]
}

/**
 * The runbooks for a monitor, any reason sufficing: their `alerts` match the labels of its alert
 * while down or degraded, their `entities` name the entity its `entity` (or `service`) label
 * names or that entity lists them, or its spec's `runbook` names them. `filter` narrows further.
 */
export async function runbooksForMonitor(
  ctx: Pick<ServiceContext, 'db'>,
  settings: RunbookSettings | undefined,
  id: string,
  filter: RunbookFilter = {},
): Promise<{ runbooks: MonitorRunbook[]; issues: RunbookFileIssue[] }> {
  const row = await getMonitor(ctx.db, id)
  if (!row) throw new NotFoundError(`monitor ${id} does not exist`)
  if (settings === undefined) return { runbooks: [], issues: [] }
  const parsed = parseMonitorSpec(row.spec)
  // A stored spec that no longer validates still has its labels; severity then takes the default.
  const spec = parsed.ok
    ? parsed.spec
    : { labels: (row.spec.labels ?? {}) as Labels, severity: 'critical', runbook: undefined }
  const alerting = { id: row.slug, type: row.type, severity: spec.severity, labels: spec.labels }
  const alertLabels = [monitorAlertLabels(alerting), monitorAlertLabels(alerting, 'degraded')]
  const entityId = entityOfLabels(spec.labels)
  const entity = entityId !== undefined ? await getEntity(ctx.db, entityId) : undefined
  const library = await loadRunbooks(settings.paths)
  const runbooks = filterRunbooks(library.runbooks, filter).flatMap((runbook) => {
    const matchedBy: MonitorRunbookMatch[] = []
    if (alertLabels.some((labels) => filterRunbooks([runbook], { labels }).length > 0)) {
      matchedBy.push('alert')
    }
    const namesEntity =
      entityId !== undefined &&
      filterRunbooks([runbook], {
        entity: entityId,
        ...(entity ? { entityKind: entity.kind } : {}),
      }).length > 0
    if (namesEntity || entity?.runbooks.includes(runbook.name)) matchedBy.push('entity')
    if (spec.runbook === runbook.name) matchedBy.push('monitor')
    return matchedBy.length > 0 ? [{ ...summary(runbook), matchedBy }] : []
  })
  return { runbooks, issues: library.issues }
}

/** What starting a run asks for. */
export interface StartRunInput {
  params?: unknown
  dryRun?: unknown
  incidentId?: unknown
}

/** A dry run's plan, or a started run with a promise of where its automatic steps leave it. */
export type StartRunResult =
  | { dryRun: true; plan: RunPlan }
  | { dryRun: false; run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }

function parseParams(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(
      '`params` must be an object of parameter names to values, e.g. {"MOUNT": "/var"}',
    )
  }
  return value as Record<string, unknown>
}

function parseIncidentId(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const id = typeof value === 'string' ? Number(value) : value
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) {
    throw new InputError(
      `\`incidentId\` must be an incident number such as 42, got ${JSON.stringify(value)}`,
    )
  }
  return id
}

/**
 * A team-scoped caller may attach a run to, or act on a run attached to, only an incident of
 * its teams (responder there): the run writes to that incident's timeline.
 */
async function requireRunIncidentTeam(
  ctx: ServiceContext,
  incidentId: number | undefined,
): Promise<void> {
  if (incidentId === undefined || ctx.actor.teams === undefined) return
  const incident = await getIncident(ctx.db, incidentId)
  requireTeamAccess(ctx.actor, 'responder', {
    type: 'incident',
    id: `#${incidentId}`,
    team: incident?.team,
  })
}

async function audit(
  db: Executor,
  ctx: { clock: Clock; actor: Actor },
  action: string,
  runId: number,
  details: Record<string, unknown>,
): Promise<void> {
  await appendAudit(db, {
    at: ctx.clock.now(),
    actor: ctx.actor.name,
    action,
    objectType: 'runbookRun',
    objectId: String(runId),
    ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
    details,
  })
}

async function timeline(
  db: Executor,
  run: StoredRunbookRun,
  at: number,
  by: string | undefined,
  text: string,
): Promise<void> {
  if (run.incidentId === undefined) return
  await appendTimeline(db, run.incidentId, [
    {
      at,
      kind: 'note',
      ...(by !== undefined ? { by } : {}),
      text,
      data: { runbookRun: run.id, runbook: run.runbook, status: run.status },
    },
  ])
}

async function createRun(
  ctx: ServiceContext,
  settings: RunbookSettings,
  runbook: Runbook,
  values: Record<string, string>,
  options: { incidentId?: number; automatic: boolean },
): Promise<{ run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }> {
  const now = ctx.clock.now()
  const state = startRun(runbook, { approvalNeeded: needsApproval(runbook) })
  const secrets = secretParameterNames(runbook)
  if (secretValues(values, secrets).length > 0 && secretBoxOf(ctx.db) === undefined) {
    throw new InputError(
      `runbook ${runbook.name} has secret parameters, and this store has no secret key to seal them; start Keel (or the CLI) with KEEL_SECRET_KEY or its keel.key`,
    )
  }
  const run = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertRunbookRun(
      trx,
      {
        runbook: runbook.name,
        title: runbook.title,
        runbookSource: runbook.source,
        params: values,
        requestedBy: ctx.actor.name,
        requestedByPerson: personOf(ctx.actor),
        ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
        automatic: options.automatic,
        ...(options.incidentId !== undefined ? { incidentId: options.incidentId } : {}),
        state,
        secretParams: [...secrets],
      },
      now,
    )
    await audit(trx, ctx, 'runbook.start', inserted.id, {
      runbook: runbook.name,
      params: redactParameters(values, secrets),
      automatic: options.automatic,
      status: inserted.status,
      ...(options.incidentId !== undefined ? { incidentId: options.incidentId } : {}),
    })
    await timeline(
      trx,
      inserted,
      now,
      ctx.actor.name,
      `Runbook "${runbook.title}" started (run ${inserted.id})${state.status === 'pendingApproval' ? '; it has dangerous steps and waits for a second person to approve' : ''}`,
    )
    return inserted
  })
  return { run: redactRun(run), settled: driveRun(ctx, settings, run.id) }
}

/**
 * Starts a run of a runbook (or, with `dryRun`, shows exactly what it would run): checks the
 * caller may run it, validates the parameters and the incident, records the run, and executes
 * its automatic steps in the background (`settled` says where they leave it).
 */
export async function startRunbookRun(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  name: string,
  input: StartRunInput,
): Promise<StartRunResult> {
  const runbook = await findRunbook(settings, name)
  const permission = runPermission(runbook, actorOfContext(ctx.actor))
  if (!permission.ok) throw new NotAllowedError(permission.reason)
  const resolved = resolveParameters(runbook, parseParams(input.params))
  if (!resolved.ok) {
    throw new InputError(resolved.issues.join('; '), { details: { issues: resolved.issues } })
  }
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') {
    throw new InputError('`dryRun` must be true or false')
  }
  const incidentId = parseIncidentId(input.incidentId)
  if (input.dryRun === true) {
    return { dryRun: true, plan: planRun(runbook, resolved.values) }
  }
  if (incidentId !== undefined && !(await getIncident(ctx.db, incidentId))) {
    throw new InputError(`\`incidentId\`: no incident has number ${incidentId}; check the number`)
  }
  await requireRunIncidentTeam(ctx, incidentId)
  const created = await createRun(ctx, settings as RunbookSettings, runbook, resolved.values, {
    automatic: false,
    ...(incidentId !== undefined ? { incidentId } : {}),
  })
  return { dryRun: false, ...created }
}

async function loadRun(db: Executor, id: number | string): Promise<StoredRunbookRun> {
  const runId = typeof id === 'string' ? Number(id) : id
  const run = Number.isInteger(runId) && runId > 0 ? await getRunbookRun(db, runId) : undefined
  if (!run) throw new NotFoundError(`no runbook run has id ${String(id)}`)
  return run
}

/** A run with its steps and the step it waits at. */
export async function getRunbookRunDetail(
  ctx: Pick<ServiceContext, 'db'>,
  id: number | string,
): Promise<RunbookRunDetail> {
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  const steps = await listRunSteps(ctx.db, run.id)
  const { runbookSource: _source, ...rest } = redactRun(run)
  const current =
    run.status === 'running' || run.status === 'interrupted'
      ? runbook.steps.find((s) => s.id === run.currentStep)
      : undefined
  return {
    ...rest,
    steps,
    ...(current ? { current } : {}),
    outline: runbook.steps.map((s) => ({
      id: s.id,
      title: s.title,
      kind: s.kind,
      dangerous: (s.kind === 'command' || s.kind === 'http') && s.dangerous,
    })),
  }
}

/** Runs, newest first, of one runbook or one incident. */
export async function listRunbookRunPage(
  ctx: Pick<ServiceContext, 'db'>,
  filter: { runbook?: string; incidentId?: number; limit?: number },
): Promise<StoredRunbookRun[]> {
  return (await listRunbookRuns(ctx.db, filter)).map(redactRun)
}

async function applyAndStore(
  ctx: ServiceContext,
  run: StoredRunbookRun,
  runbook: Runbook,
  event: RunEvent,
  record: (trx: Executor, next: RunState) => Promise<void>,
  approval?: { by: string },
): Promise<StoredRunbookRun> {
  const transition = applyRunEvent(runbook, run, event)
  if (!transition.ok) throw new ConflictError(`run ${run.id}: ${transition.reason}`)
  const now = ctx.clock.now()
  await ctx.db.transaction().execute(async (trx) => {
    const moved = await updateRunState(trx, run.id, run, transition.state, now, approval)
    if (!moved) {
      throw new ConflictError(
        `run ${run.id} changed while this request was made; reload it and try again`,
      )
    }
    await record(trx, transition.state)
    if (isFinished(transition.state.status)) await recordFinish(trx, ctx, run, transition.state)
  })
  return redactRun(await loadRun(ctx.db, run.id))
}

async function recordFinish(
  trx: Executor,
  ctx: ServiceContext,
  run: StoredRunbookRun,
  state: RunState,
): Promise<void> {
  const now = ctx.clock.now()
  await audit(trx, ctx, 'runbook.finish', run.id, {
    runbook: run.runbook,
    status: state.status,
    ...(state.reason ? { reason: state.reason } : {}),
  })
  await timeline(
    trx,
    { ...run, status: state.status },
    now,
    ctx.actor.name,
    `Runbook "${run.title}" (run ${run.id}) ${state.status}${state.reason ? `: ${state.reason}` : ''}`,
  )
}

/**
 * Approves a run waiting for approval: the approver must be someone other than the requester,
 * with the runbook's `approveRole`. The run then starts.
 */
export async function approveRunbookRun(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  id: number | string,
): Promise<{ run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }> {
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  const permission = approvalPermission(runbook, run, actorOfContext(ctx.actor))
  if (!permission.ok) {
    if (run.status !== 'pendingApproval')
      throw new ConflictError(`run ${run.id}: ${permission.reason}`)
    throw new NotAllowedError(`run ${run.id}: ${permission.reason}`)
  }
  await requireRunIncidentTeam(ctx, run.incidentId)
  const updated = await applyAndStore(
    ctx,
    run,
    runbook,
    { kind: 'approve' },
    async (trx) => {
      await audit(trx, ctx, 'runbook.approve', run.id, {
        runbook: run.runbook,
        requestedBy: run.requestedBy,
        params: redactRun(run).params,
      })
      await timeline(
        trx,
        run,
        ctx.clock.now(),
        ctx.actor.name,
        `Run ${run.id} of "${run.title}" approved by ${ctx.actor.name}`,
      )
    },
    { by: ctx.actor.name },
  )
  return { run: updated, settled: driveRun(ctx, settings, run.id) }
}

/** What a person submits for the current step: a tick with a note, or a decision's answer. */
export interface StepInput {
  note?: unknown
  answer?: unknown
}

/**
 * Completes the run's current human step (ticks a checklist or link, answers a decision) and
 * then executes the automatic steps that follow.
 */
export async function submitRunStep(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  id: number | string,
  stepId: string,
  input: StepInput,
): Promise<{ run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }> {
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  const permission = runPermission(runbook, actorOfContext(ctx.actor))
  if (!permission.ok) throw new NotAllowedError(permission.reason)
  await requireRunIncidentTeam(ctx, run.incidentId)
  if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 10_000)) {
    throw new InputError('`note` must be text of at most 10000 characters')
  }
  if (
    input.answer !== undefined &&
    typeof input.answer !== 'string' &&
    typeof input.answer !== 'number'
  ) {
    throw new InputError('`answer` must be the label or the number of an answer')
  }
  const step = runbook.steps.find((s) => s.id === stepId)
  if (!step) throw new NotFoundError(`runbook ${run.runbook} has no step ${stepId}`)
  if (step.kind === 'command' || step.kind === 'http') {
    throw new ConflictError(
      `step \`${stepId}\` is a ${step.kind} step, which Keel runs by itself when the run reaches it`,
    )
  }
  const outcome: StepOutcome =
    step.kind === 'decision'
      ? { kind: 'answered', answer: input.answer === undefined ? '' : String(input.answer) }
      : { kind: 'ticked' }
  const note = typeof input.note === 'string' && input.note !== '' ? input.note : undefined
  const updated = await applyAndStore(
    ctx,
    run,
    runbook,
    { kind: 'complete', step: stepId, outcome },
    async (trx) => {
      const label =
        step.kind === 'decision' && outcome.kind === 'answered'
          ? findAnswer(step, outcome.answer)?.label
          : undefined
      const now = ctx.clock.now()
      await insertRunStep(trx, {
        runId: run.id,
        stepId,
        kind: step.kind,
        status: 'done',
        actor: ctx.actor.name,
        startedAt: now,
        finishedAt: now,
        ...(note !== undefined ? { note } : {}),
        ...(label !== undefined ? { answer: label } : {}),
      })
      await audit(trx, ctx, 'runbook.step', run.id, {
        step: stepId,
        kind: step.kind,
        ...(note !== undefined ? { note } : {}),
        ...(label !== undefined ? { answer: label } : {}),
      })
    },
  )
  return { run: updated, settled: driveRun(ctx, settings, run.id) }
}

/** Cancels a run that has not finished, and kills the command it runs on this host. */
export async function cancelRunbookRun(
  ctx: ServiceContext,
  id: number | string,
  reason?: unknown,
  settings?: RunbookSettings,
): Promise<StoredRunbookRun> {
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  if (run.requestedBy !== ctx.actor.name) {
    const permission = runPermission(runbook, actorOfContext(ctx.actor))
    if (!permission.ok) throw new NotAllowedError(permission.reason)
  }
  await requireRunIncidentTeam(ctx, run.incidentId)
  const text =
    typeof reason === 'string' && reason !== '' ? reason : `cancelled by ${ctx.actor.name}`
  const cancelled = await applyAndStore(
    ctx,
    run,
    runbook,
    { kind: 'cancel', reason: text },
    async (trx) => {
      await audit(trx, ctx, 'runbook.cancel', run.id, { reason: text })
    },
  )
  // A command this process runs for the run is stopped at once; one that another process on this
  // host runs (the CLI, a second node) is killed through its recorded process group; a node on
  // another host sees the cancel when it next checks the run (`watchMs`) and kills its own.
  driving.get(run.id)?.abort()
  await killLocalCommand(ctx.db, run.id, settings ? driverOf(settings) : localRunDriver())
  return cancelled
}

/** Kills the recorded command of a run when it runs on this host and is still that command. */
async function killLocalCommand(db: Executor, runId: number, driver: RunDriver): Promise<boolean> {
  const lease = await getRunLease(db, runId)
  if (lease?.commandPid === undefined || lease.host !== driver.host) return false
  const killed =
    isLeftoverGroup(lease.commandPid, lease.commandStarted) && killProcessGroup(lease.commandPid)
  return killed
}

/** Where to resume an interrupted run. */
export interface ResumeInput {
  /** `next` (default): the step after the interrupted one; `retry`: the interrupted step again. */
  from?: unknown
}

/**
 * Resumes a run that a dead node left interrupted, from the step after the interrupted one or
 * with that step again; needs what running the runbook needs, and is audited.
 */
export async function resumeRunbookRun(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  id: number | string,
  input: ResumeInput = {},
): Promise<{ run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }> {
  const from = input.from ?? 'next'
  if (from !== 'next' && from !== 'retry') {
    throw new InputError(
      `\`from\` must be next (the step after the interrupted one) or retry (that step again), got ${JSON.stringify(input.from)}`,
    )
  }
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  const permission = runPermission(runbook, actorOfContext(ctx.actor))
  if (!permission.ok) throw new NotAllowedError(permission.reason)
  await requireRunIncidentTeam(ctx, run.incidentId)
  if (run.status !== 'interrupted') {
    throw new ConflictError(
      `run ${run.id} is ${run.status}; only an interrupted run is resumed${run.status === 'running' ? ' (a run waiting at a manual step goes on when its step is completed)' : ''}`,
    )
  }
  // A group the dead node left on this host must not run beside the resumed run.
  if (settings) await killLocalCommand(ctx.db, run.id, driverOf(settings))
  const updated = await applyAndStore(
    ctx,
    run,
    runbook,
    { kind: 'resume', from: from as ResumePoint },
    async (trx, next) => {
      await audit(trx, ctx, 'runbook.resume', run.id, {
        runbook: run.runbook,
        from,
        interrupted: run.currentStep,
        ...(next.currentStep !== undefined ? { step: next.currentStep } : {}),
      })
      await timeline(
        trx,
        run,
        ctx.clock.now(),
        ctx.actor.name,
        `Run ${run.id} of "${run.title}" resumed by ${ctx.actor.name} ${from === 'retry' ? `retrying step ${run.currentStep ?? '-'}` : `after step ${run.currentStep ?? '-'}`}`,
      )
    },
  )
  return { run: updated, settled: driveRun(ctx, settings, run.id) }
}

// Runs this process is driving, so one run's automatic steps never execute twice at once, and
// how to stop the step each is executing when the run is cancelled.
const driving = new Map<number, AbortController>()

/**
 * A step's output on its way to listeners and the store: secret values redacted (also across
 * chunks), at most maxStepOutputBytes kept, and written to the step row in batches as it comes,
 * so a node that dies mid-step leaves what the step printed so far.
 */
class StepOutput {
  readonly #redactor
  #kept = ''
  #keptBytes = 0
  #truncated = false
  #timer: NodeJS.Timeout | undefined
  #writes: Promise<void> = Promise.resolve()

  constructor(
    private readonly db: Db,
    private readonly rowId: number,
    private readonly flushMs: number,
    secrets: string[],
    private readonly emit: (chunk: string) => void,
  ) {
    this.#redactor = secretRedactor(secrets)
  }

  push(chunk: string): void {
    this.#take(this.#redactor.push(chunk))
  }

  #take(text: string): void {
    if (text === '') return
    this.emit(text)
    const bytes = Buffer.byteLength(text)
    // Past the cap the rest is only counted: nothing new to write.
    if (this.#truncated) return
    if (this.#keptBytes + bytes <= maxStepOutputBytes) {
      this.#kept += text
      this.#keptBytes += bytes
    } else {
      const room = maxStepOutputBytes - this.#keptBytes
      if (room > 0) {
        const part = Buffer.from(text)
          .subarray(0, room)
          .toString('utf8')
          .replace(/\uFFFD$/, '')
        this.#kept += part
        this.#keptBytes = maxStepOutputBytes
      }
      this.#truncated = true
    }
    this.#timer ??= setTimeout(() => this.#flush(), this.flushMs)
  }

  #flush(): void {
    this.#timer = undefined
    const output = this.#kept
    const truncated = this.#truncated
    this.#writes = this.#writes
      .then(() => updateRunStepOutput(this.db, this.rowId, output, truncated))
      .catch(() => undefined)
  }

  /** Ends the stream: the held-back tail is released and pending writes are awaited. */
  async end(): Promise<{ output: string; truncated: boolean }> {
    this.#take(this.#redactor.end())
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#writes
    return { output: this.#kept, truncated: this.#truncated }
  }
}

async function executeStep(
  ctx: ServiceContext,
  settings: RunbookSettings,
  run: StoredRunbookRun,
  runbook: Runbook,
  step: CommandStep | HttpStep,
  rowId: number,
  signal: AbortSignal,
): Promise<{ outcome: StepOutcome & { kind: 'executed' }; record: Partial<StoredRunStep> }> {
  const params = openRunParams(ctx.db, run)
  const secrets = secretValues(params, secretParameterNames(runbook))
  const output = new StepOutput(ctx.db, rowId, settings.outputFlushMs ?? 250, secrets, (chunk) =>
    settings.hub.emit({ type: 'output', runId: run.id, step: step.id, chunk }),
  )
  if (step.kind === 'command') {
    const driver = driverOf(settings)
    let recorded: Promise<void> = Promise.resolve()
    const result = await runCommand({
      shell: shellPath(runbook.shell),
      script: step.run,
      params,
      timeoutMs: step.timeoutMs,
      ...(settings.cwd !== undefined ? { cwd: settings.cwd } : {}),
      onOutput: (chunk) => output.push(chunk),
      onSpawn: (pid) => {
        const started = processStartTime(pid)
        recorded = setRunCommand(ctx.db, run.id, driver, {
          pid,
          ...(started !== undefined ? { started } : {}),
        }).catch(() => undefined)
      },
      signal,
    })
    await recorded
    const { output: text, truncated } = await output.end()
    const summary = result.spawnError
      ? `could not start ${shellPath(runbook.shell)}: ${result.spawnError}`
      : result.timedOut
        ? `timed out after ${step.timeoutMs} ms; killed its process group`
        : result.exitCode !== undefined
          ? `exit ${result.exitCode}`
          : `killed by ${result.signal ?? 'a signal'}`
    return {
      outcome: { kind: 'executed', ok: result.exitCode === 0 && !result.timedOut, summary },
      record: {
        ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
        summary,
        output: text,
        outputTruncated: truncated || result.truncated,
      },
    }
  }
  const rendered = renderHttpRequest(step, params)
  if (!rendered.ok) {
    await output.end()
    return {
      outcome: { kind: 'executed', ok: false, summary: rendered.reason },
      record: { summary: rendered.reason },
    }
  }
  output.push(`${rendered.request.method} ${rendered.request.url}\n`)
  const result = await runHttp(rendered.request, step.timeoutMs)
  if (result.status === undefined) {
    const summary = redactSecrets(
      `${rendered.request.method} ${rendered.request.url} failed: ${result.error ?? 'no answer'}`,
      secrets,
    )
    output.push(`${summary}\n`)
    await output.end()
    return { outcome: { kind: 'executed', ok: false, summary }, record: { summary } }
  }
  output.push(`HTTP ${result.status}\n${result.body}\n`)
  await output.end()
  const expected = step.expectStatus
  const ok = expected
    ? expected.includes(result.status)
    : result.status >= 200 && result.status < 300
  const summary = `HTTP ${result.status}${ok ? '' : `, expected ${expected ? expected.join(' or ') : '2xx'}`}`
  return {
    outcome: { kind: 'executed', ok, summary },
    record: {
      httpStatus: result.status,
      summary,
      output: redactSecrets(result.body, secrets),
      outputTruncated: result.truncated,
    },
  }
}

/**
 * While a step runs: renews the run's lease, and stops the step (its process group is killed)
 * when the run was cancelled or moved elsewhere, or when another node took the lease over.
 */
function watchRun(
  ctx: ServiceContext,
  settings: RunbookSettings,
  runId: number,
  stepId: string,
  abort: AbortController,
): () => void {
  const driver = driverOf(settings)
  const leaseMs = settings.leaseMs ?? defaultRunLeaseMs
  let busy = false
  let renewedAt = ctx.clock.now()
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      const run = await getRunbookRun(ctx.db, runId)
      if (run?.status !== 'running' || run.currentStep !== stepId) {
        abort.abort()
        return
      }
      const now = ctx.clock.now()
      if (now - renewedAt >= leaseMs / 3) {
        if (!(await renewRunLease(ctx.db, runId, driver, now + leaseMs))) abort.abort()
        else renewedAt = now
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        busy = false
      })
  }, settings.watchMs ?? 1_000)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * Executes a run's automatic steps (commands, HTTP calls) one after another until the run
 * waits for a person, waits for approval, or finishes; returns the run as it is then. Each step
 * runs under the run's lease, which says which node executes it and until when.
 */
export async function driveRun(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  runId: number,
): Promise<StoredRunbookRun> {
  if (settings === undefined || driving.has(runId)) return redactRun(await loadRun(ctx.db, runId))
  const abort = new AbortController()
  driving.set(runId, abort)
  const driver = driverOf(settings)
  const leaseMs = settings.leaseMs ?? defaultRunLeaseMs
  try {
    for (;;) {
      const run = await loadRun(ctx.db, runId)
      settings.hub.emit({ type: 'state', runId, state: redactRun(run) })
      if (run.status !== 'running' || abort.signal.aborted) return redactRun(run)
      const runbook = snapshotOf(run)
      const step = runbook.steps.find((s) => s.id === run.currentStep)
      if (!step || (step.kind !== 'command' && step.kind !== 'http')) return redactRun(run)
      const startedAt = ctx.clock.now()
      // Another live driver (a node, the CLI) executes this step: it is not ours to run.
      if (
        !(await claimRunLease(
          ctx.db,
          runId,
          { currentStep: step.id },
          driver,
          startedAt,
          startedAt + leaseMs,
        ))
      ) {
        return redactRun(run)
      }
      const stopWatching = watchRun(ctx, settings, runId, step.id, abort)
      let executed: Awaited<ReturnType<typeof executeStep>>
      try {
        const rowId = await insertRunStep(ctx.db, {
          runId,
          stepId: step.id,
          kind: step.kind,
          status: 'running',
          actor: 'keel',
          startedAt,
        })
        settings.hub.emit({ type: 'step', runId, step: step.id, status: 'running' })
        executed = await executeStep(ctx, settings, run, runbook, step, rowId, abort.signal)
        const status = executed.outcome.ok ? 'done' : 'failed'
        await finishRunStep(ctx.db, rowId, {
          status,
          finishedAt: ctx.clock.now(),
          ...executed.record,
        })
        settings.hub.emit({
          type: 'step',
          runId,
          step: step.id,
          status,
          summary: executed.outcome.summary,
        })
      } finally {
        stopWatching()
        await releaseRunLease(ctx.db, runId, driver)
      }
      const { outcome, record } = executed
      const keel: ServiceContext = { ...ctx, actor: { ...ctx.actor, name: 'keel' } }
      const current = await loadRun(ctx.db, runId)
      // Cancelled (or otherwise moved) while the step ran: the step row keeps what it did.
      if (current.status !== run.status || current.currentStep !== run.currentStep) continue
      await applyAndStore(
        keel,
        run,
        runbook,
        { kind: 'complete', step: step.id, outcome },
        async (trx) => {
          await audit(trx, keel, 'runbook.step', runId, {
            step: step.id,
            kind: step.kind,
            ok: outcome.ok,
            summary: outcome.summary,
            ...(record.exitCode !== undefined ? { exitCode: record.exitCode } : {}),
            ...(record.httpStatus !== undefined ? { httpStatus: record.httpStatus } : {}),
            // The audit keeps the start of the output; the step row keeps up to 64 KiB.
            ...(record.output !== undefined ? { output: record.output.slice(0, 2_000) } : {}),
          })
        },
      )
    }
  } finally {
    driving.delete(runId)
  }
}

/** What one pass of the recovery of orphaned runs did, per run. */
export interface RecoveredRun {
  runId: number
  /** `interrupted`: the run was marked; `cleaned`: only a leftover command was handled. */
  action: 'interrupted' | 'cleaned'
  step?: string
  /** Whether a leftover process group of the run was found on this host and killed. */
  killed: boolean
}

function driverIsDead(lease: RunLease, driver: RunDriver, now: number): boolean {
  if (lease.leaseUntil !== undefined && lease.leaseUntil < now) return true
  // On its own host a dead driver is seen at once: its process is gone (or is another one).
  return (
    lease.host === driver.host &&
    lease.driverPid !== undefined &&
    canInspectProcesses() &&
    !isSameProcess(lease.driverPid, lease.driverStarted)
  )
}

/**
 * Finds runs whose driving node died and recovers them: a running run whose lease ran out (or
 * whose driver on this host is gone) is marked `interrupted` at its step, with the output the
 * step had stored, and its step row too; a command it left on this host is killed (its process
 * group, after checking the group is still that command's). An operator then resumes the run
 * from the next step or retries the step. Runs on start and periodically, on every node.
 */
export async function recoverOrphanedRuns(
  deps: { db: Db; clock: Clock },
  settings: RunbookSettings,
): Promise<RecoveredRun[]> {
  const driver = driverOf(settings)
  const leaseMs = settings.leaseMs ?? defaultRunLeaseMs
  const recovered: RecoveredRun[] = []
  for (const lease of await listRunLeases(deps.db)) {
    const now = deps.clock.now()
    if (driving.has(lease.id) && lease.host === driver.host && lease.driverPid === driver.pid) {
      continue
    }
    const local = lease.host === driver.host && lease.commandPid !== undefined
    if (lease.status !== 'running') {
      // A finished or interrupted run whose command outlived its dead driver on this host.
      if (!local || (lease.driverPid !== undefined && !driverIsDead(lease, driver, now))) continue
      const killed =
        isLeftoverGroup(lease.commandPid as number, lease.commandStarted) &&
        killProcessGroup(lease.commandPid as number)
      await clearRunCommand(deps.db, lease.id, { pid: lease.commandPid as number })
      recovered.push({ runId: lease.id, action: 'cleaned', killed })
      continue
    }
    let dead: boolean
    if (lease.leaseOwner === undefined) {
      // No lease: a run waiting for a person, or one whose driver died before it took the lease.
      if (driving.has(lease.id) || now - lease.updatedAt < leaseMs) continue
      const run = await getRunbookRun(deps.db, lease.id)
      const step = run ? snapshotOf(run).steps.find((s) => s.id === run.currentStep) : undefined
      dead = step !== undefined && (step.kind === 'command' || step.kind === 'http')
    } else {
      dead = driverIsDead(lease, driver, now)
    }
    if (!dead) continue
    // Kill first: the driver is dead, so its command is an orphan whoever marks the run.
    const killed =
      local &&
      isLeftoverGroup(lease.commandPid as number, lease.commandStarted) &&
      killProcessGroup(lease.commandPid as number)
    const run = await getRunbookRun(deps.db, lease.id)
    if (!run) continue
    const runbook = snapshotOf(run)
    const where = `${lease.leaseOwner ?? 'a node'}${lease.host !== undefined ? ` on ${lease.host}` : ''}`
    const reason = `Keel (${where}) stopped while step \`${run.currentStep ?? '-'}\` ran; resume from the next step or retry it`
    const transition = applyRunEvent(runbook, run, { kind: 'interrupt', reason })
    if (!transition.ok) continue
    const keel: ServiceContext = {
      db: deps.db,
      clock: deps.clock,
      actor: { name: 'keel', role: 'admin' },
    }
    const marked = await deps.db.transaction().execute(async (trx) => {
      // Keep the command record when its group lives on another host: that host's node kills it.
      const keep = lease.commandPid !== undefined && lease.host !== driver.host
      if (!(await markRunInterrupted(trx, lease, transition.state, now, keep))) return false
      const steps = await interruptRunSteps(
        trx,
        run.id,
        now,
        `interrupted: ${where} stopped while it ran; its output up to then is kept`,
      )
      await audit(trx, keel, 'runbook.interrupt', run.id, {
        runbook: run.runbook,
        step: run.currentStep,
        node: lease.leaseOwner,
        host: lease.host,
        stepsInterrupted: steps,
        commandKilled: killed,
        ...(keep ? { commandLeftOn: lease.host } : {}),
      })
      await timeline(
        trx,
        { ...run, status: 'interrupted' },
        now,
        'keel',
        `Runbook "${run.title}" (run ${run.id}) interrupted: ${reason}`,
      )
      return true
    })
    if (!marked) continue
    settings.hub.emit({
      type: 'step',
      runId: run.id,
      step: run.currentStep ?? '-',
      status: 'failed',
      summary: 'interrupted',
    })
    settings.hub.emit({
      type: 'state',
      runId: run.id,
      state: redactRun({ ...run, ...transition.state }),
    })
    recovered.push({
      runId: run.id,
      action: 'interrupted',
      ...(run.currentStep !== undefined ? { step: run.currentStep } : {}),
      killed,
    })
  }
  return recovered
}

/** What an automatic start (auto-remediation) reports. */
export type AutoRemediationResult =
  | { started: true; run: StoredRunbookRun; settled: Promise<StoredRunbookRun> }
  | { started: false; reason: string }

/**
 * Starts a runbook automatically for a route (auto-remediation), as the actor `keel`. The
 * runbook must opt in with `autoRun.enabled`; at most `autoRun.maxRunsPerHour` automatic runs
 * start per runbook per hour (counted in the store, so across nodes); a runbook with dangerous
 * steps still waits for a person to approve. Refusals are values, not errors.
 */
export async function startAutoRemediation(
  deps: { db: Db; clock: Clock },
  settings: RunbookSettings | undefined,
  name: string,
  options: { params?: Record<string, unknown>; incidentId?: number; route?: string } = {},
): Promise<AutoRemediationResult> {
  let runbook: Runbook
  try {
    runbook = await findRunbook(settings, name)
  } catch (error) {
    return { started: false, reason: (error as Error).message }
  }
  const now = deps.clock.now()
  const resolved = resolveParameters(runbook, options.params ?? {})
  if (!resolved.ok) return { started: false, reason: resolved.issues.join('; ') }
  const ctx: ServiceContext = {
    db: deps.db,
    clock: deps.clock,
    actor: {
      name: 'keel',
      role: 'admin',
      ...(options.route ? { source: `route:${options.route}` } : {}),
    },
  }
  // Two nodes starting the same runbook in the same instant may both pass: the limit is a brake
  // against a flapping alert, not a lock.
  const recent = await automaticRunStarts(deps.db, runbook.name, now - autoRunWindowMs)
  const permission = autoRunPermission(runbook, recent, now)
  if (!permission.ok) return { started: false, reason: permission.reason }
  const created = await createRun(ctx, settings as RunbookSettings, runbook, resolved.values, {
    automatic: true,
    ...(options.incidentId !== undefined ? { incidentId: options.incidentId } : {}),
  })
  return { started: true, ...created }
}

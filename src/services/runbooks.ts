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
  renderHttpRequest,
  resolveParameters,
  runPermission,
  shellPath,
  startRun,
  type CommandStep,
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
import { runCommand } from '../runbooks/run-command.js'
import { runHttp } from '../runbooks/run-http.js'
import { getAlert } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import { getEntity } from '../store/catalog.js'
import { getMonitor } from '../store/monitors.js'
import type { Db, Executor } from '../store/dialect.js'
import { appendTimeline, getIncident } from '../store/incidents.js'
import {
  automaticRunStarts,
  finishRunStep,
  getRunbookRun,
  insertRunbookRun,
  insertRunStep,
  listRunbookRuns,
  listRunSteps,
  updateRunState,
  type StoredRunbookRun,
  type StoredRunStep,
} from '../store/runbooks.js'
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
    parameters: runbook.parameters,
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
      },
      now,
    )
    await audit(trx, ctx, 'runbook.start', inserted.id, {
      runbook: runbook.name,
      params: values,
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
  return { run, settled: driveRun(ctx, settings, run.id) }
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
  const { runbookSource: _source, ...rest } = run
  const current =
    run.status === 'running' ? runbook.steps.find((s) => s.id === run.currentStep) : undefined
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
  return listRunbookRuns(ctx.db, filter)
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
  return loadRun(ctx.db, run.id)
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
  const updated = await applyAndStore(
    ctx,
    run,
    runbook,
    { kind: 'approve' },
    async (trx) => {
      await audit(trx, ctx, 'runbook.approve', run.id, {
        runbook: run.runbook,
        requestedBy: run.requestedBy,
        params: run.params,
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

/** Cancels a run that has not finished. */
export async function cancelRunbookRun(
  ctx: ServiceContext,
  id: number | string,
  reason?: unknown,
): Promise<StoredRunbookRun> {
  const run = await loadRun(ctx.db, id)
  const runbook = snapshotOf(run)
  if (run.requestedBy !== ctx.actor.name) {
    const permission = runPermission(runbook, actorOfContext(ctx.actor))
    if (!permission.ok) throw new NotAllowedError(permission.reason)
  }
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
  // A command this process runs for the run is stopped: its process group is killed.
  driving.get(run.id)?.abort()
  return cancelled
}

// Runs this process is driving, so one run's automatic steps never execute twice at once, and
// how to stop the step each is executing when the run is cancelled.
const driving = new Map<number, AbortController>()

async function executeStep(
  settings: RunbookSettings,
  run: StoredRunbookRun,
  runbook: Runbook,
  step: CommandStep | HttpStep,
  signal: AbortSignal,
): Promise<{ outcome: StepOutcome & { kind: 'executed' }; record: Partial<StoredRunStep> }> {
  const emit = (chunk: string) =>
    settings.hub.emit({ type: 'output', runId: run.id, step: step.id, chunk })
  if (step.kind === 'command') {
    const result = await runCommand({
      shell: shellPath(runbook.shell),
      script: step.run,
      params: run.params,
      timeoutMs: step.timeoutMs,
      ...(settings.cwd !== undefined ? { cwd: settings.cwd } : {}),
      onOutput: emit,
      signal,
    })
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
        output: result.output,
        outputTruncated: result.truncated,
      },
    }
  }
  const rendered = renderHttpRequest(step, run.params)
  if (!rendered.ok) {
    return {
      outcome: { kind: 'executed', ok: false, summary: rendered.reason },
      record: { summary: rendered.reason },
    }
  }
  emit(`${rendered.request.method} ${rendered.request.url}\n`)
  const result = await runHttp(rendered.request, step.timeoutMs)
  if (result.status === undefined) {
    const summary = `${rendered.request.method} ${rendered.request.url} failed: ${result.error ?? 'no answer'}`
    emit(`${summary}\n`)
    return { outcome: { kind: 'executed', ok: false, summary }, record: { summary } }
  }
  emit(`HTTP ${result.status}\n${result.body}\n`)
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
      output: result.body,
      outputTruncated: result.truncated,
    },
  }
}

/**
 * Executes a run's automatic steps (commands, HTTP calls) one after another until the run
 * waits for a person, waits for approval, or finishes; returns the run as it is then.
 */
export async function driveRun(
  ctx: ServiceContext,
  settings: RunbookSettings | undefined,
  runId: number,
): Promise<StoredRunbookRun> {
  if (settings === undefined || driving.has(runId)) return loadRun(ctx.db, runId)
  const abort = new AbortController()
  driving.set(runId, abort)
  try {
    for (;;) {
      const run = await loadRun(ctx.db, runId)
      settings.hub.emit({ type: 'state', runId, state: run })
      if (run.status !== 'running') return run
      const runbook = snapshotOf(run)
      const step = runbook.steps.find((s) => s.id === run.currentStep)
      if (!step || (step.kind !== 'command' && step.kind !== 'http')) return run
      const startedAt = ctx.clock.now()
      const rowId = await insertRunStep(ctx.db, {
        runId,
        stepId: step.id,
        kind: step.kind,
        status: 'running',
        actor: 'keel',
        startedAt,
      })
      settings.hub.emit({ type: 'step', runId, step: step.id, status: 'running' })
      const { outcome, record } = await executeStep(settings, run, runbook, step, abort.signal)
      const status = outcome.ok ? 'done' : 'failed'
      await finishRunStep(ctx.db, rowId, { status, finishedAt: ctx.clock.now(), ...record })
      settings.hub.emit({ type: 'step', runId, step: step.id, status, summary: outcome.summary })
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

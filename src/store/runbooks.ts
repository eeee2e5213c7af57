import type { RunState, RunStatus } from '../core/runbooks/index.js'
import { parseJson, type Executor } from './dialect.js'
import { decryptValue, encryptValue, isEncrypted, secretBoxOf } from './secrets.js'
import type { Selectable } from 'kysely'
import type { RunbookRunRow, RunbookRunStepRow } from './schema-runbooks.js'

/** One stored run of a runbook. */
export interface StoredRunbookRun extends RunState {
  id: number
  runbook: string
  title: string
  /** The runbook file as it was when the run started. */
  runbookSource: string
  params: Record<string, string>
  requestedBy: string
  /** The person behind `requestedBy` (a token's owner), for the two-person rule. */
  requestedByPerson?: string
  requestedAt: number
  source?: string
  automatic: boolean
  approvedBy?: string
  approvedAt?: number
  incidentId?: number
  finishedAt?: number
  updatedAt: number
  /** The node executing one of its steps, and until when its lease holds. */
  leaseOwner?: string
  leaseUntil?: number
  /** The host of that node, or of the command a dead node left behind. */
  host?: string
}

/** Who executes a run's step: the node, its host, and the Keel process there. */
export interface RunDriver {
  node: string
  host: string
  pid: number
  /** The process's start time (`/proc/<pid>/stat`), which a reused pid does not share. */
  started?: string
}

/** A run's lease and the command it runs, as the recovery of orphaned runs reads them. */
export interface RunLease {
  id: number
  status: string
  currentStep?: string
  updatedAt: number
  leaseOwner?: string
  leaseUntil?: number
  host?: string
  driverPid?: number
  driverStarted?: string
  commandPid?: number
  commandStarted?: string
}

/** One step a run took. */
export interface StoredRunStep {
  id: number
  runId: number
  stepId: string
  kind: string
  status: 'running' | 'done' | 'failed' | 'interrupted'
  actor?: string
  startedAt: number
  finishedAt?: number
  note?: string
  answer?: string
  exitCode?: number
  httpStatus?: number
  summary?: string
  output?: string
  outputTruncated: boolean
}

/** What a new run records. */
export interface RunbookRunInput {
  runbook: string
  title: string
  runbookSource: string
  params: Record<string, string>
  requestedBy: string
  requestedByPerson?: string
  source?: string
  automatic: boolean
  incidentId?: number
  state: RunState
  /** Parameters whose values are sealed with the store's key (`secret: true`). */
  secretParams?: readonly string[]
}

function runFromRow(row: Selectable<RunbookRunRow>): StoredRunbookRun {
  return {
    id: Number(row.id),
    runbook: row.runbook,
    title: row.title,
    runbookSource: row.runbook_source,
    status: row.status as RunStatus,
    ...(row.current_step !== null ? { currentStep: row.current_step } : {}),
    stepsTaken: row.steps_taken,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    params: parseJson<Record<string, string>>(row.params, {}),
    requestedBy: row.requested_by,
    ...(row.requested_by_person !== null ? { requestedByPerson: row.requested_by_person } : {}),
    requestedAt: Number(row.requested_at),
    ...(row.source !== null ? { source: row.source } : {}),
    automatic: row.automatic === 1,
    ...(row.approved_by !== null ? { approvedBy: row.approved_by } : {}),
    ...(row.approved_at !== null ? { approvedAt: Number(row.approved_at) } : {}),
    ...(row.incident_id !== null ? { incidentId: Number(row.incident_id) } : {}),
    ...(row.finished_at !== null ? { finishedAt: Number(row.finished_at) } : {}),
    updatedAt: Number(row.updated_at),
    ...(row.lease_owner !== null ? { leaseOwner: row.lease_owner } : {}),
    ...(row.lease_until !== null ? { leaseUntil: Number(row.lease_until) } : {}),
    ...(row.host !== null ? { host: row.host } : {}),
  }
}

function leaseFromRow(row: Selectable<RunbookRunRow>): RunLease {
  return {
    id: Number(row.id),
    status: row.status,
    ...(row.current_step !== null ? { currentStep: row.current_step } : {}),
    updatedAt: Number(row.updated_at),
    ...(row.lease_owner !== null ? { leaseOwner: row.lease_owner } : {}),
    ...(row.lease_until !== null ? { leaseUntil: Number(row.lease_until) } : {}),
    ...(row.host !== null ? { host: row.host } : {}),
    ...(row.driver_pid !== null ? { driverPid: Number(row.driver_pid) } : {}),
    ...(row.driver_started !== null ? { driverStarted: row.driver_started } : {}),
    ...(row.command_pid !== null ? { commandPid: Number(row.command_pid) } : {}),
    ...(row.command_started !== null ? { commandStarted: row.command_started } : {}),
  }
}

/**
 * The values of secret parameters sealed with the handle's key (`enc:v1:`); refuses to store one
 * in clear when the handle has no key.
 */
function sealParams(
  db: Executor,
  params: Record<string, string>,
  secrets: readonly string[],
): Record<string, string> {
  const sealed = { ...params }
  for (const name of secrets) {
    const value = sealed[name]
    if (value === undefined || value === '' || isEncrypted(value)) continue
    const box = secretBoxOf(db)
    if (!box) {
      throw new Error(
        `parameter ${name} is secret and the store has no key to seal it; open the store with its secret key`,
      )
    }
    sealed[name] = encryptValue(box, value)
  }
  return sealed
}

/** A run's parameter values with sealed ones opened: only for executing its steps. */
export function openRunParams(db: Executor, run: Pick<StoredRunbookRun, 'params'>) {
  const box = secretBoxOf(db)
  return Object.fromEntries(
    Object.entries(run.params).map(([name, value]) => {
      if (!isEncrypted(value)) return [name, value]
      if (!box) {
        throw new Error(
          `parameter ${name} is sealed and the store has no key to open it; open the store with its secret key`,
        )
      }
      return [name, String(decryptValue(box, value))]
    }),
  )
}

function stepFromRow(row: Selectable<RunbookRunStepRow>): StoredRunStep {
  return {
    id: Number(row.id),
    runId: Number(row.run_id),
    stepId: row.step_id,
    kind: row.kind,
    status: row.status as StoredRunStep['status'],
    ...(row.actor !== null ? { actor: row.actor } : {}),
    startedAt: Number(row.started_at),
    ...(row.finished_at !== null ? { finishedAt: Number(row.finished_at) } : {}),
    ...(row.note !== null ? { note: row.note } : {}),
    ...(row.answer !== null ? { answer: row.answer } : {}),
    ...(row.exit_code !== null ? { exitCode: row.exit_code } : {}),
    ...(row.http_status !== null ? { httpStatus: row.http_status } : {}),
    ...(row.summary !== null ? { summary: row.summary } : {}),
    ...(row.output !== null ? { output: row.output } : {}),
    outputTruncated: row.output_truncated === 1,
  }
}

function isFinal(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled'
}

/** Stores a new run and returns it with its id. */
export async function insertRunbookRun(
  db: Executor,
  input: RunbookRunInput,
  now: number,
): Promise<StoredRunbookRun> {
  const row = await db
    .insertInto('runbook_runs')
    .values({
      runbook: input.runbook,
      title: input.title,
      runbook_source: input.runbookSource,
      status: input.state.status,
      current_step: input.state.currentStep ?? null,
      steps_taken: input.state.stepsTaken,
      reason: input.state.reason ?? null,
      params: JSON.stringify(sealParams(db, input.params, input.secretParams ?? [])),
      requested_by: input.requestedBy,
      requested_by_person: input.requestedByPerson ?? null,
      requested_at: now,
      source: input.source ?? null,
      automatic: input.automatic ? 1 : 0,
      incident_id: input.incidentId ?? null,
      finished_at: isFinal(input.state.status) ? now : null,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return runFromRow(row)
}

/** One run by id. */
export async function getRunbookRun(
  db: Executor,
  id: number,
): Promise<StoredRunbookRun | undefined> {
  const row = await db
    .selectFrom('runbook_runs')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? runFromRow(row) : undefined
}

/** Runs, newest first, optionally of one runbook or one incident. */
export async function listRunbookRuns(
  db: Executor,
  filter: { runbook?: string; incidentId?: number; limit?: number } = {},
): Promise<StoredRunbookRun[]> {
  let query = db
    .selectFrom('runbook_runs')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.runbook !== undefined) query = query.where('runbook', '=', filter.runbook)
  if (filter.incidentId !== undefined) query = query.where('incident_id', '=', filter.incidentId)
  return (await query.execute()).map(runFromRow)
}

/** When the automatic runs of a runbook started, since `since`, for the auto-run rate limit. */
export async function automaticRunStarts(
  db: Executor,
  runbook: string,
  since: number,
): Promise<number[]> {
  const rows = await db
    .selectFrom('runbook_runs')
    .select('requested_at')
    .where('runbook', '=', runbook)
    .where('automatic', '=', 1)
    .where('requested_at', '>', since)
    .execute()
  return rows.map((r) => Number(r.requested_at))
}

/**
 * Moves a run from the state the caller read to a new one, only if no one moved it meanwhile
 * (compare-and-set on status and current step). Returns false when the run had changed.
 */
export async function updateRunState(
  db: Executor,
  id: number,
  from: Pick<RunState, 'status' | 'currentStep'>,
  to: RunState,
  now: number,
  approval?: { by: string },
): Promise<boolean> {
  let query = db
    .updateTable('runbook_runs')
    .set({
      status: to.status,
      current_step: to.currentStep ?? null,
      steps_taken: to.stepsTaken,
      reason: to.reason ?? null,
      updated_at: now,
      ...(isFinal(to.status) ? { finished_at: now } : {}),
      ...(approval ? { approved_by: approval.by, approved_at: now } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', from.status)
  query =
    from.currentStep === undefined
      ? query.where('current_step', 'is', null)
      : query.where('current_step', '=', from.currentStep)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** Records that a run began a step; returns the step row's id. */
export async function insertRunStep(
  db: Executor,
  step: Omit<StoredRunStep, 'id' | 'outputTruncated'> & { outputTruncated?: boolean },
): Promise<number> {
  const row = await db
    .insertInto('runbook_run_steps')
    .values({
      run_id: step.runId,
      step_id: step.stepId,
      kind: step.kind,
      status: step.status,
      actor: step.actor ?? null,
      started_at: step.startedAt,
      finished_at: step.finishedAt ?? null,
      note: step.note ?? null,
      answer: step.answer ?? null,
      exit_code: step.exitCode ?? null,
      http_status: step.httpStatus ?? null,
      summary: step.summary ?? null,
      output: step.output ?? null,
      output_truncated: step.outputTruncated ? 1 : 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return Number(row.id)
}

/** Records how a step that was running ended. */
export async function finishRunStep(
  db: Executor,
  id: number,
  result: Pick<StoredRunStep, 'status' | 'finishedAt'> &
    Partial<
      Pick<StoredRunStep, 'exitCode' | 'httpStatus' | 'summary' | 'output' | 'outputTruncated'>
    >,
): Promise<void> {
  await db
    .updateTable('runbook_run_steps')
    .set({
      status: result.status,
      finished_at: result.finishedAt ?? null,
      exit_code: result.exitCode ?? null,
      http_status: result.httpStatus ?? null,
      summary: result.summary ?? null,
      output: result.output ?? null,
      output_truncated: result.outputTruncated ? 1 : 0,
    })
    .where('id', '=', id)
    // A step another node marked interrupted (this one had lost its lease) stays interrupted.
    .where('status', '=', 'running')
    .execute()
}

/** The steps a run took, in order. */
export async function listRunSteps(db: Executor, runId: number): Promise<StoredRunStep[]> {
  const rows = await db
    .selectFrom('runbook_run_steps')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute()
  return rows.map(stepFromRow)
}

/** Stores the output a running step printed so far (bounded by the caller), as it comes. */
export async function updateRunStepOutput(
  db: Executor,
  id: number,
  output: string,
  truncated: boolean,
): Promise<void> {
  await db
    .updateTable('runbook_run_steps')
    .set({ output, output_truncated: truncated ? 1 : 0 })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .execute()
}

/**
 * Takes the lease of a run about to execute its current step, if the run is still at that step
 * and no other live driver holds it; returns false when it is not this driver's to run.
 */
export async function claimRunLease(
  db: Executor,
  id: number,
  at: { currentStep: string },
  driver: RunDriver,
  now: number,
  until: number,
): Promise<boolean> {
  const result = await db
    .updateTable('runbook_runs')
    .set({
      lease_owner: driver.node,
      lease_until: until,
      host: driver.host,
      driver_pid: driver.pid,
      driver_started: driver.started ?? null,
      command_pid: null,
      command_started: null,
    })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('current_step', '=', at.currentStep)
    .where((eb) =>
      eb.or([
        eb('lease_until', 'is', null),
        eb('lease_until', '<', now),
        eb.and([eb('host', '=', driver.host), eb('driver_pid', '=', driver.pid)]),
      ]),
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** Renews a run's lease while its step runs; false when the lease is no longer this driver's. */
export async function renewRunLease(
  db: Executor,
  id: number,
  driver: RunDriver,
  until: number,
): Promise<boolean> {
  const result = await db
    .updateTable('runbook_runs')
    .set({ lease_until: until })
    .where('id', '=', id)
    .where('host', '=', driver.host)
    .where('driver_pid', '=', driver.pid)
    .where('lease_owner', '=', driver.node)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** Records the process group of the command a run's step started. */
export async function setRunCommand(
  db: Executor,
  id: number,
  driver: RunDriver,
  command: { pid: number; started?: string } | undefined,
): Promise<void> {
  await db
    .updateTable('runbook_runs')
    .set({ command_pid: command?.pid ?? null, command_started: command?.started ?? null })
    .where('id', '=', id)
    .where('host', '=', driver.host)
    .where('driver_pid', '=', driver.pid)
    .execute()
}

/** Gives up a run's lease when its step is done; the command, if any, has ended with it. */
export async function releaseRunLease(db: Executor, id: number, driver: RunDriver): Promise<void> {
  await db
    .updateTable('runbook_runs')
    .set({
      lease_owner: null,
      lease_until: null,
      driver_pid: null,
      driver_started: null,
      command_pid: null,
      command_started: null,
    })
    .where('id', '=', id)
    .where('host', '=', driver.host)
    .where('driver_pid', '=', driver.pid)
    .execute()
}

/**
 * The runs a node may have to recover: running ones (leased or not) and any with a command
 * process recorded (a group a dead node left behind on its host).
 */
export async function listRunLeases(db: Executor): Promise<RunLease[]> {
  // Two indexed lookups rather than one OR, which would scan the whole history of runs.
  const running = await db
    .selectFrom('runbook_runs')
    .selectAll()
    .where('status', '=', 'running')
    .execute()
  const withCommand = await db
    .selectFrom('runbook_runs')
    .selectAll()
    .where('command_pid', 'is not', null)
    .where('status', '<>', 'running')
    .execute()
  return [...running, ...withCommand].map(leaseFromRow).sort((a, b) => a.id - b.id)
}

/** The lease and command of one run. */
export async function getRunLease(db: Executor, id: number): Promise<RunLease | undefined> {
  const row = await db
    .selectFrom('runbook_runs')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? leaseFromRow(row) : undefined
}

/**
 * Marks a running run interrupted, only if its lease is still the one the caller judged dead
 * (compare-and-set on status, step and driver); the lease is cleared, and the command record too
 * unless `keepCommand` (its group lives on another host, whose node kills it when it starts).
 */
export async function markRunInterrupted(
  db: Executor,
  seen: RunLease,
  to: RunState,
  now: number,
  keepCommand: boolean,
): Promise<boolean> {
  let query = db
    .updateTable('runbook_runs')
    .set({
      status: to.status,
      current_step: to.currentStep ?? null,
      steps_taken: to.stepsTaken,
      reason: to.reason ?? null,
      updated_at: now,
      lease_owner: null,
      lease_until: null,
      driver_pid: null,
      driver_started: null,
      ...(keepCommand ? {} : { command_pid: null, command_started: null }),
    })
    .where('id', '=', seen.id)
    .where('status', '=', 'running')
  query =
    seen.currentStep === undefined
      ? query.where('current_step', 'is', null)
      : query.where('current_step', '=', seen.currentStep)
  query =
    seen.driverPid === undefined
      ? query.where('driver_pid', 'is', null)
      : query.where('driver_pid', '=', seen.driverPid)
  query =
    seen.leaseUntil === undefined
      ? query.where('lease_until', 'is', null)
      : query.where('lease_until', '=', seen.leaseUntil)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** Forgets a run's command record once its group is gone (killed, or found dead). */
export async function clearRunCommand(
  db: Executor,
  id: number,
  command: { pid: number },
): Promise<void> {
  await db
    .updateTable('runbook_runs')
    .set({ command_pid: null, command_started: null })
    .where('id', '=', id)
    .where('command_pid', '=', command.pid)
    .execute()
}

/** Marks the steps of a run that were running when its node died as interrupted. */
export async function interruptRunSteps(
  db: Executor,
  runId: number,
  now: number,
  summary: string,
): Promise<number> {
  const result = await db
    .updateTable('runbook_run_steps')
    .set({ status: 'interrupted', finished_at: now, summary })
    .where('run_id', '=', runId)
    .where('status', '=', 'running')
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

import type { RunState, RunStatus } from '../core/runbooks/index.js'
import { parseJson, type Executor } from './dialect.js'
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
}

/** One step a run took. */
export interface StoredRunStep {
  id: number
  runId: number
  stepId: string
  kind: string
  status: 'running' | 'done' | 'failed'
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
  }
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
      params: JSON.stringify(input.params),
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

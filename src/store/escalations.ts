import type { Selectable } from 'kysely'
import { dialectOf, parseJson, skipLocked, type Executor } from './dialect.js'
import type { EscalationRow, EscalationStepRow } from './schema-escalation.js'

/** What paging messages say about the incident being escalated. */
export interface EscalationSubject {
  title: string
  severity: string
  service?: string
  team?: string
  labels?: Record<string, string>
}

/** Where one incident's escalation stands. */
export interface Escalation {
  incidentId: number
  policyId: string
  round: number
  status: 'active' | 'stopped' | 'exhausted'
  subject: EscalationSubject
  startedAt: number
  updatedAt: number
}

/** What a step did: who it paged on which channel, and which targets gave nobody. */
export interface EscalationStepOutcome {
  users: string[]
  /** Outbox message ids, `escalation:<step>:<user>:<channel>`. */
  notifications: string[]
  unresolved: string[]
  /** Why the step paged nobody or stopped the escalation, when it did. */
  note?: string
}

/** A durable escalation step: one level of one round of one incident's escalation, due at a time. */
export interface EscalationStep {
  id: number
  incidentId: number
  policyId: string
  round: number
  level: number
  repeatIndex: number
  dueAt: number
  status: 'pending' | 'done' | 'cancelled'
  leaseOwner?: string
  leaseUntil?: number
  attempts: number
  createdAt: number
  doneAt?: number
  outcome?: EscalationStepOutcome
}

/** A step to queue. */
export type NewEscalationStep = Pick<
  EscalationStep,
  'incidentId' | 'policyId' | 'round' | 'level' | 'repeatIndex' | 'dueAt'
>

/** Options of reads that the caller's transaction will write after. */
export interface EscalationLockOptions {
  /** Lock the row until the transaction ends (PostgreSQL; SQLite has one writer anyway). */
  forUpdate?: boolean
}

function escalationFromRow(row: Selectable<EscalationRow>): Escalation {
  return {
    incidentId: row.incident_id,
    policyId: row.policy_id,
    round: row.round,
    status: row.status as Escalation['status'],
    subject: parseJson<EscalationSubject>(row.subject, { title: '', severity: 'critical' }),
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  }
}

function stepFromRow(row: Selectable<EscalationStepRow>): EscalationStep {
  return {
    id: row.id,
    incidentId: row.incident_id,
    policyId: row.policy_id,
    round: row.round,
    level: row.level,
    repeatIndex: row.repeat_index,
    dueAt: row.due_at,
    status: row.status as EscalationStep['status'],
    ...(row.lease_owner !== null ? { leaseOwner: row.lease_owner } : {}),
    ...(row.lease_until !== null ? { leaseUntil: row.lease_until } : {}),
    attempts: row.attempts,
    createdAt: row.created_at,
    ...(row.done_at !== null ? { doneAt: row.done_at } : {}),
    ...(row.outcome !== null
      ? { outcome: parseJson<EscalationStepOutcome>(row.outcome, emptyOutcome) }
      : {}),
  }
}

const emptyOutcome: EscalationStepOutcome = { users: [], notifications: [], unresolved: [] }

function lockIf(db: Executor, options: EscalationLockOptions) {
  return options.forUpdate === true && dialectOf(db) === 'postgres'
}

/** One incident's escalation, or undefined when it never escalated. */
export async function getEscalation(
  db: Executor,
  incidentId: number,
  options: EscalationLockOptions = {},
): Promise<Escalation | undefined> {
  const row = await db
    .selectFrom('escalations')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .$if(lockIf(db, options), (q) => q.forUpdate())
    .executeTakeFirst()
  return row ? escalationFromRow(row) : undefined
}

/** Writes an incident's escalation, creating it or replacing what was there. */
export async function saveEscalation(db: Executor, escalation: Escalation): Promise<void> {
  const values = {
    policy_id: escalation.policyId,
    round: escalation.round,
    status: escalation.status,
    subject: JSON.stringify(escalation.subject),
    started_at: escalation.startedAt,
    updated_at: escalation.updatedAt,
  }
  await db
    .insertInto('escalations')
    .values({ incident_id: escalation.incidentId, ...values })
    .onConflict((oc) => oc.column('incident_id').doUpdateSet(values))
    .execute()
}

/**
 * Queues a step unless the same (incident, round, level, repeat) is already queued; returns
 * whether this call queued it. A retry of whatever queued it therefore never queues it twice.
 */
export async function insertEscalationStep(
  db: Executor,
  step: NewEscalationStep,
  now: number,
): Promise<boolean> {
  const result = await db
    .insertInto('escalation_steps')
    .values({
      incident_id: step.incidentId,
      policy_id: step.policyId,
      round: step.round,
      level: step.level,
      repeat_index: step.repeatIndex,
      due_at: step.dueAt,
      status: 'pending',
      attempts: 0,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['incident_id', 'round', 'level', 'repeat_index']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}

/**
 * Leases up to `limit` due pending steps to `owner` until `now + leaseMs`, oldest due first.
 * PostgreSQL skips rows another node is claiming; a lease that ran out can be claimed again.
 */
export async function claimDueEscalationSteps(
  db: Executor,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<EscalationStep[]> {
  const due = db
    .selectFrom('escalation_steps')
    .select('id')
    .where('status', '=', 'pending')
    .where('due_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('due_at')
    .limit(limit)
    .modifyEnd(skipLocked(db))
  const rows = await db
    .updateTable('escalation_steps')
    .set((eb) => ({
      lease_owner: owner,
      lease_until: now + leaseMs,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', due)
    .returningAll()
    .execute()
  return rows.map(stepFromRow).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
}

/**
 * The step `id` if it is still pending and leased to `owner`, locked for the caller's
 * transaction: the check that makes processing a claimed step exclusive even when its lease ran
 * out and another node claimed it meanwhile.
 */
export async function getLeasedEscalationStep(
  db: Executor,
  id: number,
  owner: string,
): Promise<EscalationStep | undefined> {
  const row = await db
    .selectFrom('escalation_steps')
    .selectAll()
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('lease_owner', '=', owner)
    .$if(dialectOf(db) === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst()
  return row ? stepFromRow(row) : undefined
}

/** Marks a step done or cancelled, with what it did. */
export async function finishEscalationStep(
  db: Executor,
  id: number,
  status: 'done' | 'cancelled',
  now: number,
  outcome?: EscalationStepOutcome,
): Promise<void> {
  await db
    .updateTable('escalation_steps')
    .set({
      status,
      done_at: now,
      lease_owner: null,
      lease_until: null,
      outcome: outcome === undefined ? null : JSON.stringify(outcome),
    })
    .where('id', '=', id)
    .execute()
}

/** Gives a claimed step back after a failed attempt, to be claimed again at `retryAt`. */
export async function releaseEscalationStep(
  db: Executor,
  id: number,
  owner: string,
  retryAt: number,
): Promise<void> {
  await db
    .updateTable('escalation_steps')
    .set({ lease_owner: null, lease_until: null, due_at: retryAt })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('lease_owner', '=', owner)
    .execute()
}

/**
 * Gives back every lease `owner` holds: a node restarted under the same id takes its steps back
 * at once instead of waiting for its old leases to run out.
 */
export async function releaseEscalationLeases(db: Executor, owner: string): Promise<number> {
  const result = await db
    .updateTable('escalation_steps')
    .set({ lease_owner: null, lease_until: null })
    .where('status', '=', 'pending')
    .where('lease_owner', '=', owner)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Cancels every pending step of an incident (acknowledged, resolved or started over). */
export async function cancelPendingEscalationSteps(
  db: Executor,
  incidentId: number,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('escalation_steps')
    .set({ status: 'cancelled', done_at: now, lease_owner: null, lease_until: null })
    .where('incident_id', '=', incidentId)
    .where('status', '=', 'pending')
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Steps, oldest first: an incident's whole escalation history, or the pending ones. */
export async function listEscalationSteps(
  db: Executor,
  filter: { incidentId?: number; status?: EscalationStep['status']; limit?: number } = {},
): Promise<EscalationStep[]> {
  let query = db
    .selectFrom('escalation_steps')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit ?? 1000)
  if (filter.incidentId !== undefined) query = query.where('incident_id', '=', filter.incidentId)
  if (filter.status !== undefined) query = query.where('status', '=', filter.status)
  return (await query.execute()).map(stepFromRow)
}

/**
 * The earliest instant a pending step can be claimed, to sleep until then. A step leased to
 * another node counts from its lease's end, so the escalator does not poll in a busy loop.
 */
export async function nextEscalationStepDue(db: Executor): Promise<number | undefined> {
  const row = await db
    .selectFrom('escalation_steps')
    .select((eb) =>
      eb.fn
        .min(
          eb
            .case()
            .when('lease_until', '>', eb.ref('due_at'))
            .then(eb.ref('lease_until'))
            .else(eb.ref('due_at'))
            .end(),
        )
        .as('due'),
    )
    .where('status', '=', 'pending')
    .executeTakeFirst()
  return row?.due === null || row?.due === undefined ? undefined : Number(row.due)
}

/**
 * Advances a round-robin level's cursor and returns its position before the step: 0 the first
 * time, then 1, 2, … One statement, so two nodes paging the same level at once get two turns.
 */
export async function advanceRoundRobinCursor(
  db: Executor,
  policyId: string,
  level: number,
): Promise<number> {
  const row = await db
    .insertInto('escalation_cursors')
    .values({ policy_id: policyId, level, position: 1 })
    .onConflict((oc) =>
      oc
        .columns(['policy_id', 'level'])
        .doUpdateSet((eb) => ({ position: eb('escalation_cursors.position', '+', 1) })),
    )
    .returning('position')
    .executeTakeFirstOrThrow()
  return Number(row.position) - 1
}

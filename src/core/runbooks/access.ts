import { roleAtLeast, type Runbook, type RunbookRole } from './model.js'

/** Who asks to run or approve a runbook: name, role and the teams they belong to. */
export interface RunbookActor {
  /** The actor's identity as the audit records it (`user:alice`, `token:ci`). */
  name: string
  /** The login user's name, when a person acts; allow-lists may name it bare (`alice`). */
  user?: string
  /**
   * The person behind the identity (`user:alice` for alice's session and for a token alice
   * made); absent means `name`. The two-person rule compares people, not identities.
   */
  person?: string
  role: RunbookRole
  teams?: readonly string[]
}

/** Allowed, or why not. */
export type Permission = { ok: true } | { ok: false; reason: string }

/** True when a run of the runbook must be approved first: some step is marked `dangerous`. */
export function needsApproval(runbook: Pick<Runbook, 'steps'>): boolean {
  return runbook.steps.some((s) => (s.kind === 'command' || s.kind === 'http') && s.dangerous)
}

/**
 * Whether an actor may start (or drive) a run: their role must reach `runRole` and, when the
 * runbook has an allow-list, their name or one of their teams must be on it.
 */
export function runPermission(
  runbook: Pick<Runbook, 'name' | 'runRole' | 'allowedUsers' | 'allowedTeams'>,
  actor: RunbookActor,
): Permission {
  if (!roleAtLeast(actor.role, runbook.runRole)) {
    return {
      ok: false,
      reason: `runbook ${runbook.name} needs role ${runbook.runRole} or higher to run; ${actor.name} has ${actor.role}`,
    }
  }
  const users = runbook.allowedUsers
  const teams = runbook.allowedTeams
  if (users === undefined && teams === undefined) return { ok: true }
  if (users?.includes(actor.name) || (actor.user !== undefined && users?.includes(actor.user))) {
    return { ok: true }
  }
  if (teams?.some((team) => actor.teams?.includes(team))) return { ok: true }
  const listed = [
    ...(users ?? []).map((u) => `user ${u}`),
    ...(teams ?? []).map((t) => `team ${t}`),
  ]
  return {
    ok: false,
    reason: `runbook ${runbook.name} may be run only by ${listed.join(', ') || 'nobody'} (allowedUsers/allowedTeams); ${actor.name} is not on the list`,
  }
}

/**
 * Whether an actor may approve a pending run: a second person (never the requester) whose
 * role reaches the runbook's `approveRole`.
 */
export function approvalPermission(
  runbook: Pick<Runbook, 'name' | 'approveRole'>,
  run: { requestedBy: string; requestedByPerson?: string; status: string },
  approver: RunbookActor,
): Permission {
  if (run.status !== 'pendingApproval') {
    return {
      ok: false,
      reason: `the run is ${run.status}; only a run waiting for approval can be approved`,
    }
  }
  const requester = run.requestedByPerson ?? run.requestedBy
  if (approver.name === run.requestedBy || (approver.person ?? approver.name) === requester) {
    const as = approver.name === requester ? '' : ` (acting as ${approver.name})`
    return {
      ok: false,
      reason: `${requester} requested this run and cannot approve it${as}; a second person must approve dangerous steps`,
    }
  }
  if (!roleAtLeast(approver.role, runbook.approveRole)) {
    return {
      ok: false,
      reason: `approving runbook ${runbook.name} needs role ${runbook.approveRole} or higher; ${approver.name} has ${approver.role}`,
    }
  }
  return { ok: true }
}

/** One hour in milliseconds: the window of the auto-run rate limit. */
export const autoRunWindowMs = 3_600_000

/**
 * Whether a route may start the runbook automatically now: the runbook must opt in with
 * `autoRun.enabled`, and fewer than `autoRun.maxRunsPerHour` automatic runs may have started in
 * the hour before `now`.
 */
export function autoRunPermission(
  runbook: Pick<Runbook, 'name' | 'autoRun'>,
  recentAutoRunStarts: readonly number[],
  now: number,
): Permission {
  if (!runbook.autoRun?.enabled) {
    return {
      ok: false,
      reason: `runbook ${runbook.name} does not allow automatic runs; set \`autoRun: { enabled: true }\` in its front matter`,
    }
  }
  const inWindow = recentAutoRunStarts.filter((t) => t > now - autoRunWindowMs && t <= now).length
  if (inWindow >= runbook.autoRun.maxRunsPerHour) {
    return {
      ok: false,
      reason: `runbook ${runbook.name} already ran automatically ${inWindow} times in the last hour (autoRun.maxRunsPerHour: ${runbook.autoRun.maxRunsPerHour})`,
    }
  }
  return { ok: true }
}

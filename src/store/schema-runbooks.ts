import type { Generated } from 'kysely'

/** Row types of the runbook tables (added by migration 0007). */
export interface RunbookTables {
  runbook_runs: RunbookRunRow
  runbook_run_steps: RunbookRunStepRow
}

/** One run of a runbook. */
export interface RunbookRunRow {
  id: Generated<number>
  runbook: string
  title: string
  runbook_source: string
  /** `pendingApproval`, `running`, `succeeded`, `failed` or `cancelled`. */
  status: string
  current_step: string | null
  steps_taken: number
  reason: string | null
  /** JSON object of parameter values (strings). */
  params: string
  requested_by: string
  /** The person behind `requested_by` (a token's owner; migration 0010); null before 0010. */
  requested_by_person: string | null
  requested_at: number
  source: string | null
  /** 1 when a route started the run (auto-remediation). */
  automatic: number
  approved_by: string | null
  approved_at: number | null
  incident_id: number | null
  finished_at: number | null
  updated_at: number
  /** The node executing a step of the run, while it does (migration 0012). */
  lease_owner: string | null
  /** Until when the lease holds; the node renews it while the step runs. */
  lease_until: number | null
  /** The host name of the process executing the step. */
  host: string | null
  /** That Keel process, and its start time from /proc (a dead driver on this host is seen at once). */
  driver_pid: number | null
  driver_started: string | null
  /** The running command's shell, which leads its process group, and its start time. */
  command_pid: number | null
  command_started: string | null
}

/** One step a run took (a step visited twice in a loop has two rows). */
export interface RunbookRunStepRow {
  id: Generated<number>
  run_id: number
  step_id: string
  kind: string
  /** `running`, `done`, `failed` or `interrupted` (its node died while it ran). */
  status: string
  actor: string | null
  started_at: number
  finished_at: number | null
  note: string | null
  answer: string | null
  exit_code: number | null
  http_status: number | null
  summary: string | null
  output: string | null
  output_truncated: number
}

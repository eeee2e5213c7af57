import type { Generated } from 'kysely'
import type { AccessTables } from './schema-access.js'
import type { CatalogTables } from './schema-catalog.js'
import type { EscalationTables } from './schema-escalation.js'
import type { IncidentTables } from './schema-incidents.js'
import type { IngestTables } from './schema-ingest.js'
import type { NoiseTables } from './schema-noise.js'
import type { OncallTables } from './schema-oncall.js'
import type { RunbookTables } from './schema-runbooks.js'

/**
 * Row types of every table. SQL is snake_case; instants are bigint milliseconds since the epoch;
 * flags are 0/1 integers so SQLite and PostgreSQL return the same values; JSON is stored as text.
 */
export interface Database
  extends
    IngestTables,
    IncidentTables,
    EscalationTables,
    NoiseTables,
    AccessTables,
    CatalogTables,
    RunbookTables,
    OncallTables {
  keel_meta: MetaRow
  monitors: MonitorRow
  check_results: CheckResultRow
  result_rollups: RollupRow
  state_changes: StateChangeRow
  heartbeat_pings: HeartbeatPingRow
  alerts: AlertRow
  channels: ChannelRow
  notifications: NotificationRow
  users: UserRow
  api_tokens: ApiTokenRow
  audit_events: AuditEventRow
}

export interface MetaRow {
  key: string
  value: string
}

export interface MonitorRow {
  id: Generated<number>
  slug: string
  type: string
  spec: string
  source: string
  paused: number
  created_at: number
  updated_at: number
  version: number
  state: string
  state_since: number
  consecutive_failures: number
  consecutive_successes: number
  history: string
  flapping: number
  last_checked_at: number | null
  last_status: string | null
  last_latency_ms: number | null
  last_message: string | null
  next_due_at: number
  lease_owner: string | null
  lease_until: number | null
  ping_token: string | null
  last_ping_at: number | null
  deleted_at: number | null
}

export interface CheckResultRow {
  id: Generated<number>
  monitor_id: number
  checked_at: number
  /** 0 up, 1 degraded, 2 down: a small integer keeps the raw table compact. */
  status: number
  latency_ms: number
  message: string | null
  metrics: string | null
}

export interface RollupRow {
  monitor_id: number
  /** `m` (minute), `h` (hour) or `d` (day). */
  resolution: string
  bucket_start: number
  count: number
  failures: number
  degraded: number
  latency_sum: number
  latency_p50: number
  latency_p95: number
  latency_max: number
}

export interface StateChangeRow {
  id: Generated<number>
  monitor_id: number
  at: number
  from_state: string
  to_state: string
  message: string
  flapping: number
}

export interface HeartbeatPingRow {
  id: Generated<number>
  monitor_id: number
  received_at: number
  kind: string
  exit_status: number | null
  body: string | null
  source: string | null
}

export interface AlertRow {
  id: Generated<number>
  fingerprint: string
  status: string
  labels: string
  annotations: string
  source: string
  starts_at: number
  ends_at: number | null
  updated_at: number
  event_count: number
  /** Why a firing alert is muted (`silence:<id>`, `maintenance:<id>`, `inhibited:<fp>`), or null. */
  suppressed_by: string | null
}

export interface ChannelRow {
  slug: string
  type: string
  spec: string
  source: string
  created_at: number
  updated_at: number
}

export interface NotificationRow {
  id: string
  channel_slug: string
  alert_fingerprint: string | null
  payload: string
  status: string
  attempts: number
  next_attempt_at: number
  lease_owner: string | null
  lease_until: number | null
  last_error: string | null
  created_at: number
  delivered_at: number | null
  /**
   * What the message's one-click links may do (JSON: incident, recipient, actions; migration
   * 0010). The dispatcher signs the links when it sends; the signed URLs are never stored.
   */
  link_grant: string | null
}

export interface UserRow {
  id: Generated<number>
  username: string
  password_hash: string | null
  role: string
  created_at: number
  disabled: number
  /** Columns from migration 0008 (src/store/schema-access.ts has the access tables). */
  name: string | null
  email: string | null
  updated_at: number | null
  password_changed_at: number | null
  oidc_issuer: string | null
  oidc_subject: string | null
}

export interface ApiTokenRow {
  id: string
  name: string
  token_hash: string
  role: string
  created_at: number
  expires_at: number | null
  last_used_at: number | null
  revoked_at: number | null
  /** The one team the token may edit objects of (migration 0008); null for no team scope. */
  team: string | null
  /**
   * The person the token acts for (migration 0010): `user:<id>` (it stops working while that
   * user is disabled), `cli:<os user>` or `system`; null for tokens made before 0010.
   */
  owner: string | null
}

export interface AuditEventRow {
  id: Generated<number>
  at: number
  actor: string
  action: string
  object_type: string
  object_id: string
  source: string | null
  details: string | null
}

/** Row types of the noise-control tables (added by migration 0005). */
export interface NoiseTables {
  silences: SilenceRow
  maintenance_windows: MaintenanceWindowRow
  alert_groups: AlertGroupRow
}

/** A silence made through the API or the CLI. */
export interface SilenceRow {
  id: string
  /** JSON: the matchers as Alertmanager text, such as `["service=\"db\""]`. */
  matchers: string
  starts_at: number
  ends_at: number
  /** JSON: the weekly recurrence (days, from, to, timeZone), or null for a one-off silence. */
  recurrence: string | null
  comment: string
  created_by: string
  created_at: number
  updated_at: number
  /** When the "silence expires soon" notice went out; null until then. */
  expiry_notified_at: number | null
}

/** A maintenance window made through the API (keel.yaml ones live in the alerting document). */
export interface MaintenanceWindowRow {
  id: string
  title: string
  description: string | null
  /** JSON: the matchers as Alertmanager text. */
  matchers: string
  time_zone: string
  one_off_start: number | null
  one_off_end: number | null
  /** JSON: the weekly slot (days, from, to), or null. */
  recurring: string | null
  /** 1 when the public status page shows it. */
  public: number
  created_by: string
  created_at: number
  updated_at: number
}

/** One durable aggregation group of the routing tree: its alerts, log and timer. */
export interface AlertGroupRow {
  key: string
  route_id: string
  receiver: string
  /** JSON: the group labels. */
  labels: string
  /** JSON: the core `GroupState` (alerts, last notification, timing). */
  state: string
  next_flush_at: number
  lease_owner: string | null
  lease_until: number | null
  updated_at: number
}

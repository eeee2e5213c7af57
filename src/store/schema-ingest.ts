import type { Generated } from 'kysely'

/** Row types of the ingest tables (added by migration 0002). */
export interface IngestTables {
  integrations: IntegrationRow
  ingest_events: IngestEventRow
  alert_expiries: AlertExpiryRow
}

export interface IntegrationRow {
  /** A slug, used in audit entries and the `integration` label. */
  id: string
  /** `alertmanager`, `pagerduty` or `generic`: which sender formats the key is accepted on. */
  kind: string
  name: string
  /** sha256 (hex) of the secret key. */
  key_hash: string
  /** JSON object of labels added to every alert the integration receives. */
  labels: string
  created_at: number
  updated_at: number
  disabled: number
  /** 1 when the integration's alerts may put incidents on the public status page (0013). */
  public_status: Generated<number>
}

export interface IngestEventRow {
  id: Generated<number>
  integration_id: string
  received_at: number
  /** The sender format: `alertmanager`, `alertmanager-api`, `pagerduty` or `generic`. */
  kind: string
  /** The event as received (JSON), without the routing key. */
  payload: string
  dedup_key: string | null
  fingerprint: string | null
  /** What it did: an alert change (`opened`, `updated`, …), `acknowledged` or `dropped`. */
  status: string
}

export interface AlertExpiryRow {
  fingerprint: string
  integration_id: string
  ends_at: number
}

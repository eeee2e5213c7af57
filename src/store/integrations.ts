import { sql, type Selectable } from 'kysely'
import type { Labels } from '../core/alerts/index.js'
import { dialectOf, parseJson, type Executor } from './dialect.js'
import type { IngestEventRow, IntegrationRow } from './schema-ingest.js'

/** The sender families an integration can be: it decides which ingest endpoints take its key. */
export const integrationKinds = ['alertmanager', 'pagerduty', 'generic'] as const

/** One of `integrationKinds`. */
export type IntegrationKind = (typeof integrationKinds)[number]

/** An ingest endpoint with its own key and the labels it adds to every alert. */
export interface Integration {
  id: string
  kind: IntegrationKind
  name: string
  labels: Labels
  createdAt: number
  updatedAt: number
  disabled: boolean
  /** Whether its alerts may put incidents on the public status page (off unless allowed). */
  publicStatus: boolean
}

/** One accepted event in the durable inbox. */
export interface IngestEvent {
  id: number
  integrationId: string
  receivedAt: number
  kind: string
  payload: unknown
  dedupKey?: string
  fingerprint?: string
  status: string
}

/** A new inbox row. */
export type IngestEventInput = Omit<IngestEvent, 'id'>

/** A scheduled self-resolve of an alert that was sent without one. */
export interface AlertExpiry {
  fingerprint: string
  integrationId: string
  endsAt: number
}

function integrationFromRow(row: Selectable<IntegrationRow>): Integration {
  return {
    id: row.id,
    kind: row.kind as IntegrationKind,
    name: row.name,
    labels: parseJson(row.labels, {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    disabled: row.disabled === 1,
    publicStatus: Number(row.public_status) === 1,
  }
}

function eventFromRow(row: Selectable<IngestEventRow>): IngestEvent {
  return {
    id: row.id,
    integrationId: row.integration_id,
    receivedAt: row.received_at,
    kind: row.kind,
    payload: parseJson(row.payload, undefined),
    ...(row.dedup_key !== null ? { dedupKey: row.dedup_key } : {}),
    ...(row.fingerprint !== null ? { fingerprint: row.fingerprint } : {}),
    status: row.status,
  }
}

/** Creates an integration; `keyHash` is the sha256 of its secret key. */
export async function insertIntegration(
  db: Executor,
  input: {
    id: string
    kind: IntegrationKind
    name: string
    labels: Labels
    keyHash: string
    publicStatus?: boolean
  },
  now: number,
): Promise<Integration> {
  const row = await db
    .insertInto('integrations')
    .values({
      id: input.id,
      kind: input.kind,
      name: input.name,
      key_hash: input.keyHash,
      labels: JSON.stringify(input.labels),
      created_at: now,
      updated_at: now,
      disabled: 0,
      public_status: input.publicStatus ? 1 : 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return integrationFromRow(row)
}

/** One integration by id. */
export async function getIntegration(db: Executor, id: string): Promise<Integration | undefined> {
  const row = await db
    .selectFrom('integrations')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? integrationFromRow(row) : undefined
}

/** The integration whose key hashes to `keyHash`. */
export async function findIntegrationByKeyHash(
  db: Executor,
  keyHash: string,
): Promise<Integration | undefined> {
  const row = await db
    .selectFrom('integrations')
    .selectAll()
    .where('key_hash', '=', keyHash)
    .executeTakeFirst()
  return row ? integrationFromRow(row) : undefined
}

/** Every integration, by id. */
export async function listIntegrations(db: Executor): Promise<Integration[]> {
  const rows = await db.selectFrom('integrations').selectAll().orderBy('id').execute()
  return rows.map(integrationFromRow)
}

/** Changes an integration's name, labels, disabled flag or key; undefined when it does not exist. */
export async function updateIntegration(
  db: Executor,
  id: string,
  patch: {
    name?: string
    labels?: Labels
    disabled?: boolean
    keyHash?: string
    publicStatus?: boolean
  },
  now: number,
): Promise<Integration | undefined> {
  const row = await db
    .updateTable('integrations')
    .set({
      updated_at: now,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.labels !== undefined ? { labels: JSON.stringify(patch.labels) } : {}),
      ...(patch.disabled !== undefined ? { disabled: patch.disabled ? 1 : 0 } : {}),
      ...(patch.publicStatus !== undefined ? { public_status: patch.publicStatus ? 1 : 0 } : {}),
      ...(patch.keyHash !== undefined ? { key_hash: patch.keyHash } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row ? integrationFromRow(row) : undefined
}

/** Deletes an integration with its inbox and pending expiries; false when it did not exist. */
export async function deleteIntegration(db: Executor, id: string): Promise<boolean> {
  await db.deleteFrom('ingest_events').where('integration_id', '=', id).execute()
  await db.deleteFrom('alert_expiries').where('integration_id', '=', id).execute()
  const result = await db.deleteFrom('integrations').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Appends accepted events to the inbox, in one statement. */
export async function insertIngestEvents(
  db: Executor,
  events: readonly IngestEventInput[],
): Promise<void> {
  // A group commit may carry thousands of rows; stay far below either store's parameter limit.
  for (let i = 0; i < events.length; i += 1_000)
    await insertIngestChunk(db, events.slice(i, i + 1_000))
}

async function insertIngestChunk(db: Executor, events: readonly IngestEventInput[]): Promise<void> {
  if (events.length === 0) return
  await db
    .insertInto('ingest_events')
    .values(
      events.map((e) => ({
        integration_id: e.integrationId,
        received_at: e.receivedAt,
        kind: e.kind,
        payload: JSON.stringify(e.payload ?? null),
        dedup_key: e.dedupKey ?? null,
        fingerprint: e.fingerprint ?? null,
        status: e.status,
      })),
    )
    .execute()
}

/** One integration's inbox, newest first, keyset-paginated by id. */
export async function listIngestEvents(
  db: Executor,
  integrationId: string,
  filter: { limit?: number; beforeId?: number } = {},
): Promise<IngestEvent[]> {
  let query = db
    .selectFrom('ingest_events')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return (await query.execute()).map(eventFromRow)
}

/** Deletes inbox rows received before `before`, at most `limit` at a time; returns how many. */
export async function pruneIngestEvents(
  db: Executor,
  before: number,
  limit = 10_000,
): Promise<number> {
  const oldest = db
    .selectFrom('ingest_events')
    .select('id')
    .where('received_at', '<', before)
    .orderBy('received_at')
    .limit(limit)
  const result = await db.deleteFrom('ingest_events').where('id', 'in', oldest).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Sets (or moves) when alerts resolve by themselves; the last entry per fingerprint wins. */
export async function setAlertExpiries(
  db: Executor,
  expiries: readonly AlertExpiry[],
): Promise<void> {
  // PostgreSQL refuses an upsert that touches one row twice; keep the last per fingerprint.
  const unique = [...new Map(expiries.map((e) => [e.fingerprint, e])).values()]
  if (unique.length === 0) return
  await db
    .insertInto('alert_expiries')
    .values(
      unique.map((e) => ({
        fingerprint: e.fingerprint,
        integration_id: e.integrationId,
        ends_at: e.endsAt,
      })),
    )
    .onConflict((oc) =>
      oc.column('fingerprint').doUpdateSet((eb) => ({
        ends_at: eb.ref('excluded.ends_at'),
        integration_id: eb.ref('excluded.integration_id'),
      })),
    )
    .execute()
}

/** Cancels the self-resolve of these alerts (they were resolved, or sent without an end). */
export async function clearAlertExpiries(
  db: Executor,
  fingerprints: readonly string[],
): Promise<void> {
  if (fingerprints.length === 0) return
  await db
    .deleteFrom('alert_expiries')
    .where('fingerprint', 'in', [...new Set(fingerprints)])
    .execute()
}

/** Expiries due at `now`, soonest first. */
export async function listDueAlertExpiries(
  db: Executor,
  now: number,
  limit = 500,
): Promise<AlertExpiry[]> {
  const rows = await db
    .selectFrom('alert_expiries')
    .selectAll()
    .where('ends_at', '<=', now)
    .orderBy('ends_at')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    integrationId: r.integration_id,
    endsAt: r.ends_at,
  }))
}

/** The expiries of these fingerprints, if any. */
export async function getAlertExpiries(
  db: Executor,
  fingerprints: readonly string[],
): Promise<AlertExpiry[]> {
  if (fingerprints.length === 0) return []
  const rows = await db
    .selectFrom('alert_expiries')
    .selectAll()
    .where('fingerprint', 'in', [...new Set(fingerprints)])
    .execute()
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    integrationId: r.integration_id,
    endsAt: r.ends_at,
  }))
}

// 'keel' in ASCII: the first key of the two-key advisory lock, so other users of advisory locks
// in the same database cannot collide with Keel's alert locks.
const alertLockNamespace = 0x6b65656c

/**
 * Serialises writers of the same alerts until the transaction ends. Two PostgreSQL transactions
 * upserting one new fingerprint would otherwise both miss it and the second insert would fail on
 * the unique index; SQLite already runs one write transaction at a time. Locks are taken in hash
 * order so two batches never wait on each other in a cycle.
 */
export async function lockAlertFingerprints(
  db: Executor,
  fingerprints: readonly string[],
): Promise<void> {
  if (fingerprints.length === 0 || dialectOf(db) !== 'postgres') return
  await sql`select pg_advisory_xact_lock(${alertLockNamespace}, h) from (
      select distinct hashtext(f) as h from unnest(${[...new Set(fingerprints)]}::text[]) as f
      order by h
    ) as locks`.execute(db)
}

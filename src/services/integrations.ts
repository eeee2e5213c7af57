import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { AlertEvent, Labels } from '../core/alerts/index.js'
import { AuthenticationError, ConflictError, InputError, NotAllowedError } from '../core/errors.js'
import { NotFoundError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { NoiseScope } from '../engine/noise.js'
import type {
  FieldIssue,
  IngestAccepted,
  IngestFormat,
  IngestItem,
  IngestRefusal,
  IngestRoute,
  RateLimiter,
} from '../ingest/index.js'
import { ingestFormats } from '../ingest/index.js'
import { issuesFromZod } from '../ingest/validation.js'
import { getAlert } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import type { Db, Executor } from '../store/dialect.js'
import {
  clearAlertExpiries,
  deleteIntegration as deleteIntegrationRows,
  findIntegrationByKeyHash,
  getAlertExpiries,
  getIntegration,
  insertIngestEvents,
  insertIntegration,
  integrationKinds,
  listDueAlertExpiries,
  listIngestEvents,
  listIntegrations as listIntegrationRows,
  lockAlertFingerprints,
  pruneIngestEvents,
  setAlertExpiries,
  updateIntegration as updateIntegrationRow,
  type AlertExpiry,
  type IngestEvent,
  type IngestEventInput,
  type Integration,
} from '../store/integrations.js'
import { hashToken } from './auth.js'
import type { ServiceContext } from './context.js'
import { isAllowedKey } from '../core/reserved-keys.js'

/** Integration kinds with a format whose alerts can resolve by themselves at a scheduled end. */
const kindsWithEnds: ReadonlySet<string> = new Set(
  ingestFormats.filter((f) => f.schedulesEnds).map((f) => f.integrationKind),
)

/** How long accepted events stay in the inbox by default. */
export const defaultIngestRetentionMs = 7 * 86_400_000

/** Integration ids follow the monitor id rules: they appear in URLs, labels and audit entries. */
const idPattern = /^[a-z0-9][a-z0-9._-]{0,127}$/

/** Prometheus label names, so integration labels can be matched like any other. */
const labelNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

const idSchema = z.string().refine((id) => idPattern.test(id) && isAllowedKey(id), {
  message:
    'must be a slug: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 128 characters, and not constructor or prototype',
})

const integrationLabelsSchema = z.record(
  z.string().refine((name) => labelNamePattern.test(name), {
    message: 'is not a label name; use letters, digits and "_", not starting with a digit',
  }),
  z.string().min(1),
)

const createSchema = z.strictObject({
  id: idSchema,
  kind: z.enum(integrationKinds),
  name: z.string().min(1).max(200).optional(),
  labels: integrationLabelsSchema.optional(),
  publicStatus: z.boolean().optional(),
})

const updateSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  labels: integrationLabelsSchema.optional(),
  disabled: z.boolean().optional(),
  publicStatus: z.boolean().optional(),
})

/** Where a sender posts for one integration. */
export interface IntegrationEndpoint {
  format: IngestFormat['name']
  summary: string
  /** The URL; `<key>` stands for the key where the response does not carry it. */
  url: string
  /** Where the key goes: in the URL, as `Authorization: Bearer <key>`, or as `routing_key`. */
  key: IngestRoute['key']
}

/** An integration as the API shows it. */
export interface IntegrationView extends Integration {
  endpoints: IntegrationEndpoint[]
}

/** A new (or re-keyed) integration; `key` is shown only here and never stored. */
export interface CreatedIntegration {
  integration: IntegrationView
  key: string
}

/** What ingest needs from the running node. */
export interface IngestDeps {
  db: Db
  clock: Clock
  publicUrl?: string
  /** The per-integration limit for formats that have one (PagerDuty); none when absent. */
  limiter?: RateLimiter
}

/** The outcome of one ingest request, for the route to render in the sender's own shape. */
export type IngestResponse =
  | { outcome: 'accepted'; accepted: IngestAccepted }
  | { outcome: 'rejected'; issues: FieldIssue[] }
  | { outcome: 'refused'; refusal: IngestRefusal }

function inputError(what: string, error: z.ZodError, input: unknown): InputError {
  const issues = issuesFromZod(error, input)
  return new InputError(`${what}: ${issues.map((i) => i.message).join('; ')}`, { details: issues })
}

function newKey(): string {
  // 128 random bits as 32 hex characters: the shape of a PagerDuty integration key, so senders
  // that check it accept Keel's.
  return randomBytes(16).toString('hex')
}

/** The endpoints of an integration, with its key filled in when given. */
export function integrationEndpoints(
  integration: Pick<Integration, 'kind'>,
  options: { key?: string; publicUrl?: string } = {},
): IntegrationEndpoint[] {
  const base = (options.publicUrl ?? '').replace(/\/+$/, '')
  const key = options.key ?? '<key>'
  return ingestFormats
    .filter((f) => f.integrationKind === integration.kind)
    .flatMap((f) =>
      f.routes.map((r) => ({
        format: f.name,
        summary: f.summary,
        url: base + r.url.replace(':key', key),
        key: r.key,
      })),
    )
}

function view(integration: Integration, options: { key?: string; publicUrl?: string } = {}) {
  return { ...integration, endpoints: integrationEndpoints(integration, options) }
}

async function audit(
  trx: Executor,
  ctx: ServiceContext,
  action: string,
  id: string,
  details?: unknown,
): Promise<void> {
  await appendAudit(trx, {
    at: ctx.clock.now(),
    actor: ctx.actor.name,
    action,
    objectType: 'integration',
    objectId: id,
    ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
    ...(details !== undefined ? { details } : {}),
  })
}

/** Creates an integration and returns its key, which is shown this once. */
export async function createIntegration(
  ctx: ServiceContext & { publicUrl?: string },
  input: unknown,
): Promise<CreatedIntegration> {
  const parsed = createSchema.safeParse(input)
  if (!parsed.success) throw inputError('integration is invalid', parsed.error, input)
  const { id, kind } = parsed.data
  const name = parsed.data.name ?? id
  const labels = parsed.data.labels ?? {}
  // Off unless asked for: an ingest sender's labels must not speak to the public by default.
  const publicStatus = parsed.data.publicStatus ?? false
  const key = newKey()
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    if (await getIntegration(trx, id)) {
      throw new ConflictError(
        `integration ${id} already exists; pick another id or delete it first`,
      )
    }
    const integration = await insertIntegration(
      trx,
      { id, kind, name, labels, keyHash: hashToken(key), publicStatus },
      now,
    )
    await audit(trx, ctx, 'integration.create', id, { kind, name, labels, publicStatus })
    forgetKeys(ctx.db)
    return { integration: view(integration, { key, ...publicUrlOf(ctx) }), key }
  })
}

function publicUrlOf(ctx: { publicUrl?: string }) {
  return ctx.publicUrl ? { publicUrl: ctx.publicUrl } : {}
}

/** Every integration, without keys. */
export async function listIntegrations(
  ctx: ServiceContext & { publicUrl?: string },
): Promise<IntegrationView[]> {
  return (await listIntegrationRows(ctx.db)).map((i) => view(i, publicUrlOf(ctx)))
}

/** One integration, without its key. */
export async function getIntegrationView(
  ctx: ServiceContext & { publicUrl?: string },
  id: string,
): Promise<IntegrationView> {
  const integration = await getIntegration(ctx.db, id)
  if (!integration) throw new NotFoundError(`integration ${id} does not exist`)
  return view(integration, publicUrlOf(ctx))
}

/**
 * How long a node trusts an integration it looked up by key: a second. Changes made on this
 * node (disable, rotate, delete) take effect at once; made on another node, within a second.
 * Under load this saves a hash and a query per request.
 */
const keyCacheMs = 1_000
const keyCaches = new WeakMap<object, Map<string, { at: number; integration?: Integration }>>()

function forgetKeys(db: object): void {
  keyCaches.delete(db)
}

async function integrationByKey(db: Executor, key: string): Promise<Integration | undefined> {
  let cache = keyCaches.get(db)
  if (!cache) {
    cache = new Map()
    keyCaches.set(db, cache)
  }
  const now = performance.now()
  const hit = cache.get(key)
  if (hit && now - hit.at < keyCacheMs) return hit.integration
  const integration = await findIntegrationByKeyHash(db, hashToken(key))
  if (cache.size > 10_000) cache.clear()
  cache.set(key, { at: now, ...(integration ? { integration } : {}) })
  return integration
}

/** Renames, relabels, disables or enables an integration. */
export async function updateIntegration(
  ctx: ServiceContext & { publicUrl?: string },
  id: string,
  input: unknown,
): Promise<IntegrationView> {
  const parsed = updateSchema.safeParse(input)
  if (!parsed.success) throw inputError(`integration ${id}: change is invalid`, parsed.error, input)
  return ctx.db.transaction().execute(async (trx) => {
    const updated = await updateIntegrationRow(trx, id, parsed.data, ctx.clock.now())
    if (!updated) throw new NotFoundError(`integration ${id} does not exist`)
    await audit(trx, ctx, 'integration.update', id, parsed.data)
    forgetKeys(ctx.db)
    return view(updated, publicUrlOf(ctx))
  })
}

/** Replaces an integration's key; the old one stops working at once. */
export async function rotateIntegrationKey(
  ctx: ServiceContext & { publicUrl?: string },
  id: string,
): Promise<CreatedIntegration> {
  const key = newKey()
  return ctx.db.transaction().execute(async (trx) => {
    const updated = await updateIntegrationRow(
      trx,
      id,
      { keyHash: hashToken(key) },
      ctx.clock.now(),
    )
    if (!updated) throw new NotFoundError(`integration ${id} does not exist`)
    await audit(trx, ctx, 'integration.rotate-key', id)
    forgetKeys(ctx.db)
    return { integration: view(updated, { key, ...publicUrlOf(ctx) }), key }
  })
}

/** Deletes an integration, its inbox and its pending expiries; its alerts stay as they are. */
export async function deleteIntegration(ctx: ServiceContext, id: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteIntegrationRows(trx, id))) {
      throw new NotFoundError(`integration ${id} does not exist`)
    }
    await audit(trx, ctx, 'integration.delete', id)
    forgetKeys(ctx.db)
  })
}

/** An integration's recent inbox, newest first. */
export async function listIntegrationEvents(
  ctx: ServiceContext,
  id: string,
  filter: { limit?: number; beforeId?: number } = {},
): Promise<IngestEvent[]> {
  if (!(await getIntegration(ctx.db, id))) {
    throw new NotFoundError(`integration ${id} does not exist`)
  }
  return listIngestEvents(ctx.db, id, filter)
}

/**
 * The integration a key belongs to. Throws AuthenticationError for a missing or unknown key and
 * NotAllowedError for a disabled integration.
 */
export async function authenticateIntegration(
  db: Executor,
  key: string | undefined,
): Promise<Integration> {
  if (key === undefined || key === '') {
    throw new AuthenticationError(
      'integration key required: send the key the integration was created with',
    )
  }
  const integration = await integrationByKey(db, key)
  if (!integration) {
    throw new AuthenticationError(
      'no integration has this key; use the key shown when the integration was created (POST /api/v1/integrations) or rotate it',
    )
  }
  if (integration.disabled) {
    throw new NotAllowedError(
      `integration ${integration.id} is disabled; enable it with PATCH /api/v1/integrations/${integration.id} {"disabled": false}`,
    )
  }
  return integration
}

function refusalOf(error: unknown): IngestRefusal | undefined {
  if (error instanceof AuthenticationError) {
    return { status: 401, name: error.name, message: error.message }
  }
  if (error instanceof NotAllowedError) {
    return { status: 403, name: error.name, message: error.message }
  }
  return undefined
}

/**
 * Receives one request of a sender format: authenticates the key, applies the rate limit, parses
 * the body and, when it is valid, stores every event and its alert changes in one transaction
 * before returning, so a 2xx means the events are committed. Every outcome is a value the route
 * renders in the sender's own shape.
 */
export async function receiveIngest(
  deps: IngestDeps,
  format: IngestFormat,
  key: string | undefined,
  body: unknown,
): Promise<IngestResponse> {
  const now = deps.clock.now()
  let integration: Integration
  try {
    integration = await authenticateIntegration(deps.db, key)
  } catch (error) {
    const refusal = refusalOf(error)
    if (!refusal) throw error
    // A body-borne key (PagerDuty's routing_key) that is missing is a field of an invalid event.
    if (key === undefined && format.keyInBody) {
      const parsed = format.parse(body, { now, integration: { id: '' } })
      if (!parsed.ok) return { outcome: 'rejected', issues: parsed.issues }
    }
    return { outcome: 'refused', refusal }
  }
  if (integration.kind !== format.integrationKind) {
    const where = integrationEndpoints(integration)
      .map((e) => e.url)
      .join(' or ')
    return {
      outcome: 'refused',
      refusal: {
        status: 404,
        name: 'NotFoundError',
        message: `integration ${integration.id} is a ${integration.kind} integration and takes no ${format.name} events; send to ${where}, or create a ${format.integrationKind} integration`,
      },
    }
  }
  if (format.rateLimited && deps.limiter) {
    const decision = deps.limiter.take(integration.id, now)
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
      return {
        outcome: 'refused',
        refusal: {
          status: 429,
          name: 'RateLimited',
          message: `integration ${integration.id} sends more events than its rate limit allows; retry after ${seconds} s`,
          retryAfterSeconds: seconds,
        },
      }
    }
  }
  const parsed = format.parse(body, { now, integration })
  if (!parsed.ok) return { outcome: 'rejected', issues: parsed.issues }
  const accepted = await committerFor(deps.db).submit({
    deps,
    integration,
    kind: format.name,
    items: parsed.items,
    now,
  })
  return { outcome: 'accepted', accepted }
}

interface IngestWork {
  deps: { db: Db; publicUrl?: string }
  integration: Integration
  kind: string
  items: readonly IngestItem[]
  now: number
}

interface QueuedWork extends IngestWork {
  resolve(accepted: IngestAccepted): void
  reject(error: unknown): void
}

/**
 * Group commit for ingest: requests that arrive while a transaction is committing wait and then
 * commit together in the next one, each answered only after that commit (so still durable
 * before its 2xx). One BEGIN/COMMIT, one pipeline setup and one WAL write for many events. If a
 * batch fails, its requests are retried one transaction each, so a request that cannot be
 * applied fails alone and the others are not lost.
 */
export class IngestCommitter {
  private queue: QueuedWork[] = []
  private running = false
  /** Transactions committed (or tried), for tests and metrics. */
  transactions = 0

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 256,
  ) {}

  /** Applies one request's items in the next group transaction; resolves after its commit. */
  submit(work: IngestWork): Promise<IngestAccepted> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...work, resolve, reject })
      if (this.running) return
      this.running = true
      // Wait for the rest of this event-loop turn: requests whose bodies arrived together (a
      // synchronous driver finishes a transaction before the next request is even parsed)
      // then share one transaction instead of committing one by one.
      setImmediate(() => void this.drain())
    })
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch)
        await this.commit(batch)
        // Let requests that are being read now join the next batch.
        if (this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      this.running = false
    }
  }

  private async commit(batch: QueuedWork[]): Promise<void> {
    let results: IngestAccepted[]
    this.transactions++
    try {
      results = await this.db.transaction().execute(async (trx) => {
        // One sorted lock of every fingerprint first, so two nodes' batches cannot deadlock.
        await lockAlertFingerprints(
          trx,
          batch.flatMap((work) => work.items.map((i) => i.fingerprint)),
        )
        // Silences, maintenance and the alerting config are read once for the whole batch.
        const scope = new NoiseScope(trx, batch[0]?.now ?? Date.now())
        // The inbox rows of every request go in with one statement at the end.
        const inbox: IngestEventInput[] = []
        const out: IngestAccepted[] = []
        for (const work of batch) out.push(await applyIngestItemsIn(trx, work, { scope, inbox }))
        await insertIngestEvents(trx, inbox)
        return out
      })
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error)
        return
      }
      for (const work of batch) await this.commit([work])
      return
    }
    batch.forEach((work, i) => work.resolve(results[i] as IngestAccepted))
  }
}

const committers = new WeakMap<Db, IngestCommitter>()

function committerFor(db: Db): IngestCommitter {
  let committer = committers.get(db)
  if (!committer) {
    committer = new IngestCommitter(db)
    committers.set(db, committer)
  }
  return committer
}

/**
 * Applies parsed items to the alerts in one transaction: the alert pipeline, the inbox rows and
 * the scheduled self-resolves all commit together, or none does.
 */
export async function applyIngestItems(
  deps: { db: Db; publicUrl?: string },
  integration: Integration,
  kind: string,
  items: readonly IngestItem[],
  now: number,
): Promise<IngestAccepted> {
  return deps.db.transaction().execute(async (trx) => {
    await lockAlertFingerprints(
      trx,
      items.map((i) => i.fingerprint),
    )
    return applyIngestItemsIn(trx, { deps, integration, kind, items, now })
  })
}

/**
 * `applyIngestItems` inside a transaction the caller holds, which has locked the items'
 * fingerprints. The group committer passes the batch's noise scope and an `inbox` to collect
 * the inbox rows in, which it inserts itself; without one they are inserted here.
 */
async function applyIngestItemsIn(
  trx: Executor,
  work: IngestWork,
  batch: { scope?: NoiseScope; inbox?: IngestEventInput[] } = {},
): Promise<IngestAccepted> {
  const { deps, integration, kind, items, now } = work
  const { scope } = batch
  const source = `${integration.kind}:${integration.id}`
  const events: AlertEvent[] = []
  // Per item: the index of its event, or undefined when it was dropped.
  const slots: (number | undefined)[] = []
  for (const item of items) {
    const event = await eventFor(trx, item, integration.labels, source)
    slots.push(event ? events.push(event) - 1 : undefined)
  }
  const processed = await processAlertEvents(trx, events, {
    now,
    ...(scope ? { scope } : {}),
    ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
  })
  const statuses = items.map((item, i) => {
    const slot = slots[i]
    if (slot === undefined) return 'dropped'
    if (item.action === 'acknowledge') return 'acknowledged'
    return processed[slot]?.change ?? 'unchanged'
  })
  const expiring: AlertExpiry[] = []
  const notExpiring: string[] = []
  for (const item of items) {
    if (item.action === 'fire' && item.endsAt !== undefined) {
      expiring.push({
        fingerprint: item.fingerprint,
        integrationId: integration.id,
        endsAt: item.endsAt,
      })
    } else if (item.action !== 'acknowledge') {
      notExpiring.push(item.fingerprint)
    }
  }
  // Only kinds with a format that schedules ends can meet a scheduled alert (PagerDuty's
  // fingerprints are made of its own integration and dedup key); the others skip the delete.
  if (kindsWithEnds.has(integration.kind)) {
    await clearAlertExpiries(
      trx,
      notExpiring.filter((f) => !expiring.some((e) => e.fingerprint === f)),
    )
  }
  await setAlertExpiries(trx, expiring)
  const inbox: IngestEventInput[] = items.map((item, i) => ({
    integrationId: integration.id,
    receivedAt: now,
    kind,
    payload: item.payload,
    ...(item.dedupKey !== undefined ? { dedupKey: item.dedupKey } : {}),
    fingerprint: item.fingerprint,
    status: statuses[i] ?? 'unchanged',
  }))
  if (batch.inbox) batch.inbox.push(...inbox)
  else await insertIngestEvents(trx, inbox)
  return {
    events: items.map((item, i) => ({
      fingerprint: item.fingerprint,
      ...(item.dedupKey !== undefined ? { dedupKey: item.dedupKey } : {}),
      status: statuses[i] ?? 'unchanged',
    })),
  }
}

async function eventFor(
  trx: Executor,
  item: IngestItem,
  integrationLabels: Labels,
  source: string,
): Promise<AlertEvent | undefined> {
  const base = { fingerprint: item.fingerprint, source }
  if (item.labels !== undefined && item.action !== 'acknowledge') {
    // The sender's labels win over the integration's, as Prometheus' external labels do.
    return {
      ...base,
      labels: { ...integrationLabels, ...item.labels },
      annotations: { ...item.annotations },
      status: item.action === 'fire' ? 'firing' : 'resolved',
      at: item.at,
    }
  }
  // PagerDuty acknowledge and resolve name the open alert by its dedup key only.
  const existing = await getAlert(trx, item.fingerprint)
  if (!existing || existing.status !== 'firing') return undefined
  if (item.action === 'acknowledge') {
    return {
      ...base,
      source: existing.source,
      labels: existing.labels,
      annotations: {
        ...existing.annotations,
        acknowledged: existing.annotations.acknowledged ?? new Date(item.at).toISOString(),
      },
      status: 'firing',
      at: item.at,
      action: 'acknowledge',
    }
  }
  return {
    ...base,
    source: existing.source,
    labels: existing.labels,
    annotations: existing.annotations,
    status: 'resolved',
    at: item.at,
  }
}

/**
 * Resolves alerts whose scheduled end (Alertmanager's `endsAt`, or the 5-minute resolve timeout)
 * has passed without the sender refreshing them, at that end; returns how many it resolved. Safe
 * to run on several nodes at once: each fingerprint is locked and re-read before it is resolved.
 */
export async function resolveExpiredAlerts(
  db: Db,
  now: number,
  options: { publicUrl?: string; limit?: number } = {},
): Promise<number> {
  const due = await listDueAlertExpiries(db, now, options.limit ?? 500)
  if (due.length === 0) return 0
  return db.transaction().execute(async (trx) => {
    const fingerprints = due.map((d) => d.fingerprint)
    await lockAlertFingerprints(trx, fingerprints)
    const still = (await getAlertExpiries(trx, fingerprints)).filter((e) => e.endsAt <= now)
    const events: AlertEvent[] = []
    for (const expiry of still) {
      const alert = await getAlert(trx, expiry.fingerprint)
      if (alert?.status !== 'firing') continue
      events.push({
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
        status: 'resolved',
        at: expiry.endsAt,
        source: alert.source,
      })
    }
    const processed = await processAlertEvents(trx, events, {
      now,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    })
    await clearAlertExpiries(
      trx,
      still.map((e) => e.fingerprint),
    )
    return processed.filter((p) => p.change === 'resolved').length
  })
}

/** Deletes inbox rows older than the retention, in batches; returns how many. */
export async function pruneIngestInbox(
  db: Db,
  now: number,
  retentionMs: number = defaultIngestRetentionMs,
): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await pruneIngestEvents(db, now - retentionMs)
    total += deleted
    if (deleted === 0) return total
  }
}

import type { Labels } from '../core/alerts/index.js'
import type { Instant } from '../core/time.js'
import type { IntegrationKind } from '../store/integrations.js'

/** One problem with one field of a received payload; `message` names the field and the fix. */
export interface FieldIssue {
  /** Where in the body, e.g. `alerts[0].labels.alertname`; `body` for the body itself. */
  path: string
  message: string
}

/**
 * What one received event asks for, before it meets the store. `fire` opens or refreshes the
 * alert; `resolve` and `acknowledge` without labels refer to the open alert with that fingerprint
 * (PagerDuty's dedup key) and are dropped when there is none.
 */
export interface IngestItem {
  action: 'fire' | 'resolve' | 'acknowledge'
  fingerprint: string
  at: Instant
  labels?: Labels
  annotations?: Record<string, string>
  /** Fire only: the alert resolves by itself at this instant unless it is sent again. */
  endsAt?: Instant
  dedupKey?: string
  /** The event as received, kept in the inbox; never holds the integration key. */
  payload: unknown
}

/** The result of parsing a body: the items to apply, or every issue found. */
export type ParseOutcome = { ok: true; items: IngestItem[] } | { ok: false; issues: FieldIssue[] }

/** What a parser knows besides the body. */
export interface ParseContext {
  now: Instant
  integration: { id: string }
}

/** What a request did, item by item, as the reply shapes need it. */
export interface IngestAccepted {
  events: { fingerprint: string; dedupKey?: string; status: string }[]
}

/** A refusal before parsing: bad key, wrong kind, disabled integration, rate limit, body size. */
export interface IngestRefusal {
  status: 401 | 403 | 404 | 413 | 429
  name: string
  message: string
  retryAfterSeconds?: number
}

/** A status code and a JSON body. */
export interface IngestReply {
  status: number
  body: unknown
}

/** How one route of a format finds the integration key. */
export interface IngestRoute {
  url: string
  /** The `:key` path parameter, the `Authorization: Bearer` header, or a field of the body. */
  key: 'path' | 'bearer' | 'body'
}

/**
 * One sender format: where it is served, how it reads a body, and how it answers. Adding a format
 * is this definition in its own file plus one entry in `ingestFormats` (`index.ts`).
 */
export interface IngestFormat {
  /** Stored as `ingest_events.kind` and used in `source`. */
  name: 'alertmanager' | 'alertmanager-api' | 'pagerduty' | 'generic'
  /** The integrations whose keys this format accepts. */
  integrationKind: IntegrationKind
  summary: string
  description: string
  routes: readonly IngestRoute[]
  bodyLimitBytes: number
  /** Whether the per-integration rate limit applies (PagerDuty's Events API has one). */
  rateLimited: boolean
  /** Whether its alerts can carry an end at which they resolve by themselves (`endsAt`). */
  schedulesEnds: boolean
  /** The key when it travels in the body (`key: 'body'` routes). */
  keyInBody?(body: unknown): string | undefined
  parse(body: unknown, context: ParseContext): ParseOutcome
  accepted(result: IngestAccepted): IngestReply
  rejected(issues: readonly FieldIssue[]): IngestReply
  refused(refusal: IngestRefusal): IngestReply
}

/** Keel's own error body, `{ error: { name, message, details? } }`, as every other route sends. */
export function keelErrorReply(
  status: number,
  name: string,
  message: string,
  details?: unknown,
): IngestReply {
  return {
    status,
    body: { error: { name, message, ...(details !== undefined ? { details } : {}) } },
  }
}

/** The replies of formats that answer like the rest of Keel's API. */
export const keelReplies: Pick<IngestFormat, 'accepted' | 'rejected' | 'refused'> = {
  accepted: () => ({ status: 200, body: { status: 'success' } }),
  rejected: (issues) =>
    keelErrorReply(400, 'InputError', issues.map((i) => i.message).join('; '), issues),
  refused: (refusal) => keelErrorReply(refusal.status, refusal.name, refusal.message),
}

import { alertmanagerAlertsFormat } from './alertmanager-alerts.js'
import { alertmanagerWebhookFormat } from './alertmanager-webhook.js'
import type { IngestFormat } from './format.js'
import { genericFormat } from './generic.js'
import { pagerDutyFormat } from './pagerduty.js'

export type {
  FieldIssue,
  IngestAccepted,
  IngestFormat,
  IngestItem,
  IngestRefusal,
  IngestReply,
  IngestRoute,
  ParseContext,
  ParseOutcome,
} from './format.js'
export { resolveTimeoutMs } from './alertmanager-alerts.js'
export { defaultEventsPerMinute, TokenBucketLimiter, type RateLimiter } from './rate-limit.js'

/** Every sender format Keel accepts; the ingest routes and the docs are built from this list. */
export const ingestFormats: readonly IngestFormat[] = [
  alertmanagerWebhookFormat,
  alertmanagerAlertsFormat,
  pagerDutyFormat,
  genericFormat,
]

/** The URL pattern of every ingest route; they authenticate with an integration key themselves. */
export const ingestRouteUrls: readonly string[] = ingestFormats.flatMap((f) =>
  f.routes.map((r) => r.url),
)

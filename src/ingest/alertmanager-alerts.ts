import { z } from 'zod'
import { fingerprint } from '../core/alerts/index.js'
import type { FieldIssue, IngestFormat, IngestItem } from './format.js'
import { keelReplies } from './format.js'
import {
  annotationsSchema,
  cleanLabels,
  issuesFromZod,
  labelsSchema,
  timestampSchema,
} from './validation.js'

/** Alertmanager's default `resolve_timeout`: an alert sent without `endsAt` resolves after it. */
export const resolveTimeoutMs = 5 * 60_000

const postableAlertSchema = z.object({
  labels: labelsSchema,
  annotations: annotationsSchema.optional(),
  startsAt: timestampSchema.optional(),
  endsAt: timestampSchema.optional(),
  generatorURL: z.string().optional(),
})

const postableAlertsSchema = z.array(postableAlertSchema)

/**
 * Alertmanager's alerts API (`POST /api/v2/alerts`), so Prometheus can send straight to Keel. As
 * in Alertmanager, an alert whose `endsAt` has passed is resolved, and a firing alert resolves by
 * itself at `endsAt` (now + 5 minutes when absent) unless it is sent again; Prometheus re-sends
 * firing alerts every minute with a fresh `endsAt`.
 */
export const alertmanagerAlertsFormat: IngestFormat = {
  name: 'alertmanager-api',
  integrationKind: 'alertmanager',
  summary: 'Receive alerts as Alertmanager’s API does (for Prometheus)',
  description:
    'A JSON array of `{labels, annotations?, startsAt?, endsAt?, generatorURL?}`, `labels.alertname` required, as Prometheus posts to Alertmanager. Authenticate with the integration key in the path (`/ingest/alertmanager/<key>/api/v2/alerts`, Prometheus `path_prefix`) or as `Authorization: Bearer <key>` on `/api/v2/alerts` (Prometheus `authorization`).',
  routes: [
    { url: '/ingest/alertmanager/:key/api/v2/alerts', key: 'path' },
    { url: '/api/v2/alerts', key: 'bearer' },
  ],
  bodyLimitBytes: 10 * 1024 * 1024,
  rateLimited: false,
  schedulesEnds: true,
  parse(body, { now }) {
    const parsed = postableAlertsSchema.safeParse(body)
    if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error, body) }
    const raw = body as unknown[]
    const issues: FieldIssue[] = []
    const items: IngestItem[] = []
    parsed.data.forEach((alert, index) => {
      const at = `[${index}]`
      const labels = cleanLabels(alert.labels)
      if (labels.alertname === undefined) {
        issues.push({
          path: `${at}.labels.alertname`,
          message: `${at}.labels.alertname is required: every alert needs a non-empty alertname label`,
        })
        return
      }
      const { startsAt, endsAt } = alert
      if (startsAt !== undefined && endsAt !== undefined && startsAt > endsAt) {
        issues.push({
          path: `${at}.endsAt`,
          message: `${at}.endsAt is before ${at}.startsAt; an alert must start before it ends`,
        })
        return
      }
      const annotations = {
        ...(alert.generatorURL ? { generatorURL: alert.generatorURL } : {}),
        ...alert.annotations,
      }
      const base = { fingerprint: fingerprint(labels), labels, annotations, payload: raw[index] }
      if (endsAt !== undefined && endsAt <= now) {
        items.push({ ...base, action: 'resolve', at: endsAt })
      } else {
        items.push({
          ...base,
          action: 'fire',
          // Alertmanager starts an alert with only an end at that end; here the end is ahead.
          at: startsAt ?? now,
          endsAt: endsAt ?? now + resolveTimeoutMs,
        })
      }
    })
    return issues.length > 0 ? { ok: false, issues } : { ok: true, items }
  },
  ...keelReplies,
}

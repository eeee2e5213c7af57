import { z } from 'zod'
import { fingerprint } from '../core/alerts/index.js'
import type { FieldIssue, IngestFormat, IngestItem } from './format.js'
import { keelReplies } from './format.js'
import {
  annotationsSchema,
  cleanLabels,
  fieldPath,
  issuesFromZod,
  labelsSchema,
  timestampSchema,
} from './validation.js'

const genericAlertSchema = z.object({
  labels: labelsSchema,
  annotations: annotationsSchema.optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  startsAt: timestampSchema.optional(),
  endsAt: timestampSchema.optional(),
})

const genericBodySchema = z.object({ alerts: z.array(genericAlertSchema).min(1) })

type Shape = 'batch' | 'array' | 'single'

function shapeOf(body: unknown): Shape {
  if (Array.isArray(body)) return 'array'
  if (body !== null && typeof body === 'object' && 'alerts' in body) return 'batch'
  return 'single'
}

/** The path as the sender wrote it: `alerts[0].x`, `[0].x` for a bare array, `x` for one alert. */
function senderPath(path: string, shape: Shape): string {
  if (shape === 'batch') return path
  const rest = path.replace(/^alerts/, '')
  if (shape === 'array') return rest === '' ? 'body' : rest
  const own = rest.replace(/^\[0\]\.?/, '')
  return own === '' ? 'body' : own
}

/**
 * Keel's own JSON for scripts and tools with a plain webhook: `{alerts: [...]}` or one alert
 * object. An alert is `{labels (alertname required), annotations?, status?, startsAt?, endsAt?}`;
 * without `status` it fires, unless its `endsAt` has passed. A firing alert with an `endsAt`
 * resolves by itself then unless it is sent again.
 */
export const genericFormat: IngestFormat = {
  name: 'generic',
  integrationKind: 'generic',
  summary: 'Receive alerts in Keel’s generic JSON',
  description:
    '`{"alerts": [{"labels": {"alertname": "…"}, "annotations": {}, "status": "firing"|"resolved", "startsAt"?, "endsAt"?}]}` or a single alert object; see docs/ingest.md. Answers `{"status":"success","alerts":[{"fingerprint","status"}]}`.',
  routes: [{ url: '/ingest/generic/:key', key: 'path' }],
  bodyLimitBytes: 1024 * 1024,
  rateLimited: false,
  schedulesEnds: true,
  parse(body, { now }) {
    const shape = shapeOf(body)
    const input = shape === 'batch' ? body : { alerts: shape === 'array' ? body : [body] }
    const parsed = genericBodySchema.safeParse(input)
    if (!parsed.success) {
      const issues = issuesFromZod(parsed.error, input).map((issue) => {
        const path = senderPath(issue.path, shape)
        return { path, message: path + issue.message.slice(issue.path.length) }
      })
      return { ok: false, issues }
    }
    const alerts = parsed.data.alerts
    const raw = (input as { alerts: unknown[] }).alerts
    const issues: FieldIssue[] = []
    const items: IngestItem[] = []
    alerts.forEach((alert, index) => {
      const field = (name: string) => senderPath(`${fieldPath(['alerts', index])}.${name}`, shape)
      const labels = cleanLabels(alert.labels)
      if (labels.alertname === undefined) {
        issues.push({
          path: field('labels.alertname'),
          message: `${field('labels.alertname')} is required: every alert needs a non-empty alertname label`,
        })
        return
      }
      const { startsAt, endsAt } = alert
      if (startsAt !== undefined && endsAt !== undefined && startsAt > endsAt) {
        issues.push({
          path: field('endsAt'),
          message: `${field('endsAt')} is before ${field('startsAt')}; an alert must start before it ends`,
        })
        return
      }
      const resolved =
        alert.status === 'resolved' ||
        (alert.status === undefined && endsAt !== undefined && endsAt <= now)
      const base = {
        fingerprint: fingerprint(labels),
        labels,
        annotations: alert.annotations ?? {},
        payload: raw[index],
      }
      items.push(
        resolved
          ? { ...base, action: 'resolve', at: endsAt ?? now }
          : {
              ...base,
              action: 'fire',
              at: startsAt ?? now,
              ...(endsAt !== undefined ? { endsAt } : {}),
            },
      )
    })
    return issues.length > 0 ? { ok: false, issues } : { ok: true, items }
  },
  accepted: (result) => ({
    status: 200,
    body: {
      status: 'success',
      alerts: result.events.map((e) => ({ fingerprint: e.fingerprint, status: e.status })),
    },
  }),
  rejected: keelReplies.rejected,
  refused: keelReplies.refused,
}

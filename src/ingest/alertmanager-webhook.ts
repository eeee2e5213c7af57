import { z } from 'zod'
import { fingerprint } from '../core/alerts/index.js'
import { keelReplies, type IngestFormat, type IngestItem } from './format.js'
import {
  annotationsSchema,
  cleanLabels,
  issuesFromZod,
  labelsSchema,
  timestampSchema,
} from './validation.js'

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelsSchema,
  annotations: annotationsSchema.optional(),
  startsAt: timestampSchema.optional(),
  endsAt: timestampSchema.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
})

// Version "4" is the only one Alertmanager has sent since 0.x; the other fields (receiver,
// groupLabels, commonLabels, groupKey, truncatedAlerts, notification_reason, …) describe the
// notification, not the alerts, and are kept in the stored payload.
const webhookSchema = z.object({
  version: z.literal('4').optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  alerts: z.array(alertSchema),
  externalURL: z.string().optional(),
})

/**
 * Alertmanager's webhook receiver (`webhook_configs`, payload version 4). Each alert keeps
 * Alertmanager's identity: its fingerprint is Keel's `fingerprint(labels)`, equal to the one
 * Alertmanager shows; it fires at `startsAt` and resolves at `endsAt`.
 */
export const alertmanagerWebhookFormat: IngestFormat = {
  name: 'alertmanager',
  integrationKind: 'alertmanager',
  summary: 'Receive an Alertmanager webhook notification',
  description:
    'Point an Alertmanager `webhook_configs` URL here (with `send_resolved: true`). The path carries the integration key. Answers `{"status":"success"}` once every alert is stored.',
  routes: [{ url: '/ingest/alertmanager/:key', key: 'path' }],
  // Alertmanager sends a whole group in one request; `max_alerts` is unlimited by default.
  bodyLimitBytes: 10 * 1024 * 1024,
  rateLimited: false,
  schedulesEnds: false,
  parse(body, { now }) {
    const parsed = webhookSchema.safeParse(body)
    if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error, body) }
    // Each inbox row is the notification as if it had held only this alert: still a valid
    // webhook payload, with the group context (receiver, groupKey, …) kept.
    const { alerts: raw, ...notification } = body as { alerts: unknown[] }
    const items = parsed.data.alerts.map((alert, index): IngestItem => {
      const labels = cleanLabels(alert.labels)
      const annotations = {
        ...(alert.generatorURL ? { generatorURL: alert.generatorURL } : {}),
        ...alert.annotations,
      }
      const firing = alert.status === 'firing'
      return {
        action: firing ? 'fire' : 'resolve',
        fingerprint: fingerprint(labels),
        at: (firing ? alert.startsAt : alert.endsAt) ?? now,
        labels,
        annotations,
        payload: { ...notification, alerts: [raw[index]] },
      }
    })
    const empty = items.findIndex((item) => Object.keys(item.labels ?? {}).length === 0)
    if (empty >= 0) {
      return {
        ok: false,
        issues: [
          {
            path: `alerts[${empty}].labels`,
            message: `alerts[${empty}].labels must hold at least one label with a value; an alert is identified by its labels`,
          },
        ],
      }
    }
    return { ok: true, items }
  },
  ...keelReplies,
}

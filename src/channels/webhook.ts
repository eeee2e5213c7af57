import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type NotificationMessage,
} from './channel.js'
import { postJson } from './http-outcome.js'

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'header names must be HTTP tokens (letters, digits, -)')

const webhookConfigSchema = z.object({
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an http:// or https:// URL' })
    .describe('Where to POST the JSON payload.'),
  headers: z
    .record(headerName, z.string())
    .optional()
    .describe('Extra request headers, such as Authorization.'),
  secret: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Signs each delivery: X-Keel-Signature is sha256=HMAC(secret, "<timestamp>.<body>").',
    ),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** The JSON body every webhook delivery carries, version 1. */
export interface WebhookPayload {
  version: '1'
  id: string
  status: 'firing' | 'resolved'
  severity: string
  title: string
  text: string
  fingerprint: string
  labels: Record<string, string>
  annotations: Record<string, string>
  /** ISO 8601, UTC. */
  at: string
  url?: string
  /**
   * One-click links (signed acknowledge/resolve), present only when the message has them; each
   * opens a confirmation page in Keel, so a receiver can show it as a button.
   */
  actions?: { kind: 'acknowledge' | 'resolve'; label: string; url: string }[]
}

/** Builds the version 1 webhook body for a message. */
export function webhookPayload(message: NotificationMessage): WebhookPayload {
  return {
    version: '1',
    id: message.id,
    status: message.status,
    severity: message.severity,
    title: message.title,
    text: message.text,
    fingerprint: message.fingerprint,
    labels: message.labels,
    annotations: message.annotations,
    at: new Date(message.at).toISOString(),
    ...(message.url === undefined ? {} : { url: message.url }),
    ...(message.actions === undefined || message.actions.length === 0
      ? {}
      : { actions: message.actions.map(({ kind, label, url }) => ({ kind, label, url })) }),
  }
}

/** The `X-Keel-Signature` value: `sha256=` and the hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/**
 * Checks a delivery's `X-Keel-Signature` against the secret, the `X-Keel-Timestamp` and the raw
 * body, and rejects timestamps more than `toleranceSeconds` away from `nowSeconds` (replays).
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | number,
  body: string,
  signatureHeader: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const text = String(timestamp).trim()
  if (!/^\d{1,15}$/.test(text)) return false
  if (Math.abs(nowSeconds - Number(text)) > toleranceSeconds) return false
  const expected = Buffer.from(signWebhook(secret, text, body))
  const given = Buffer.from(signatureHeader.trim())
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Posts Keel's JSON payload to any HTTP endpoint, optionally signed with HMAC-SHA256. */
export const webhookChannel = defineChannel({
  kind: 'webhook',
  description: 'POST a JSON payload to an HTTP(S) endpoint, optionally signed with HMAC-SHA256',
  configSchema: webhookConfigSchema,
  // Custom headers usually carry an Authorization token.
  secretFields: ['secret', 'headers'],
  async send(config, message, context) {
    const now = (context.clock ?? systemClock).now()
    const body = JSON.stringify(webhookPayload(message))
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      headers[name.toLowerCase()] = value
    }
    headers['user-agent'] = 'Keel-Webhook/1'
    headers['x-keel-delivery'] = message.id
    if (config.secret !== undefined) {
      const timestamp = Math.floor(now / 1000)
      headers['x-keel-timestamp'] = String(timestamp)
      headers['x-keel-signature'] = signWebhook(config.secret, timestamp, body)
    }
    return postJson({
      channel: 'webhook channel',
      url: config.url,
      body,
      headers,
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now,
    })
  },
})

import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { fingerprint, type Labels } from '../core/alerts/index.js'
import type { FieldIssue, IngestFormat, IngestReply } from './format.js'
import { fieldPath, issuesFromZod, timestampSchema } from './validation.js'

/** PagerDuty's documented limit on one Events API v2 request. */
export const pagerDutyMaxBodyBytes = 512 * 1024

const severities = ['critical', 'error', 'warning', 'info'] as const

const noNul = (text: string) => !text.includes('\u0000')

const envelopeSchema = z.object({
  routing_key: z.string().min(1),
  event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
  dedup_key: z
    .string()
    .max(255)
    .refine(noNul, { message: 'must not contain NUL characters; send printable text' })
    .optional(),
  payload: z.unknown().optional(),
  links: z.array(z.object({ href: z.string(), text: z.string().optional() })).optional(),
  images: z
    .array(z.object({ src: z.string(), href: z.string().optional(), alt: z.string().optional() }))
    .optional(),
  client: z.string().optional(),
  client_url: z.string().optional(),
})

const payloadSchema = z.object({
  summary: z.string().min(1).max(1024),
  source: z.string().min(1),
  severity: z.enum(severities),
  timestamp: timestampSchema.optional(),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  custom_details: z.unknown().optional(),
})

function withPrefix(issues: FieldIssue[], prefix: string): FieldIssue[] {
  return issues.map((issue) => {
    const path = issue.path === 'body' ? prefix : `${prefix}.${issue.path}`
    return { path, message: issue.message.replace(issue.path, path) }
  })
}

function detailsText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

const refusalWords = { 401: 'unauthorized', 403: 'forbidden', 404: 'not found' } as const

/** The PagerDuty error body: `{status, message, errors[]}`, as its client libraries parse it. */
function pagerDutyError(status: number, word: string, message: string, errors: string[]) {
  return { status, body: { status: word, message, errors } } satisfies IngestReply
}

/**
 * PagerDuty Events API v2 (`/v2/enqueue`): the routing key is the integration key. A `dedup_key`
 * names one alert per integration (its fingerprint is made from the integration and the dedup key
 * only, so a changed summary updates the same alert); triggers without one get a new UUID.
 * Acknowledge and resolve apply to the open alert with that key and are dropped (still 202) when
 * there is none, as PagerDuty does.
 */
export const pagerDutyFormat: IngestFormat = {
  name: 'pagerduty',
  integrationKind: 'pagerduty',
  summary: 'Receive a PagerDuty Events API v2 event',
  description:
    'Any tool that can send to PagerDuty can send here: set its Events API URL to this endpoint and its routing (integration) key to the Keel integration key. Answers exactly as PagerDuty does: 202 `{status, message, dedup_key}`, 400 `{status:"invalid event", message, errors[]}`, 429 when the integration sends faster than its rate limit.',
  routes: [
    { url: '/v2/enqueue', key: 'body' },
    { url: '/ingest/pagerduty/v2/enqueue', key: 'body' },
  ],
  bodyLimitBytes: pagerDutyMaxBodyBytes,
  rateLimited: true,
  schedulesEnds: false,
  keyInBody(body) {
    if (body === null || typeof body !== 'object') return undefined
    const key = (body as { routing_key?: unknown }).routing_key
    return typeof key === 'string' && key !== '' ? key : undefined
  },
  parse(body, { now, integration }) {
    const envelope = envelopeSchema.safeParse(body)
    if (!envelope.success) return { ok: false, issues: issuesFromZod(envelope.error, body) }
    const event = envelope.data
    const dedupKey = event.dedup_key === '' ? undefined : event.dedup_key
    const { routing_key: _secret, ...stored } = body as Record<string, unknown>
    if (event.event_action !== 'trigger') {
      if (dedupKey === undefined) {
        return {
          ok: false,
          issues: [
            {
              path: 'dedup_key',
              message: `dedup_key is required for ${event.event_action}: send the dedup_key the trigger returned`,
            },
          ],
        }
      }
      return {
        ok: true,
        items: [
          {
            action: event.event_action === 'resolve' ? 'resolve' : 'acknowledge',
            fingerprint: fingerprint({ integration: integration.id, dedup_key: dedupKey }),
            at: now,
            dedupKey,
            payload: stored,
          },
        ],
      }
    }
    if (event.payload === undefined) {
      return {
        ok: false,
        issues: [
          {
            path: 'payload',
            message:
              'payload is required for trigger: send {"summary", "source", "severity"} at least',
          },
        ],
      }
    }
    const parsed = payloadSchema.safeParse(event.payload)
    if (!parsed.success) {
      return {
        ok: false,
        issues: withPrefix(issuesFromZod(parsed.error, event.payload), fieldPath(['payload'])),
      }
    }
    const payload = parsed.data
    const key = dedupKey ?? randomUUID()
    const labels: Labels = {
      source: payload.source,
      severity: payload.severity,
      ...(payload.component ? { component: payload.component } : {}),
      ...(payload.group ? { group: payload.group } : {}),
      ...(payload.class ? { class: payload.class } : {}),
      dedup_key: key,
      integration: integration.id,
    }
    const annotations: Record<string, string> = {
      summary: payload.summary,
      ...(payload.custom_details !== undefined
        ? { custom_details: detailsText(payload.custom_details) }
        : {}),
      ...(event.client ? { client: event.client } : {}),
      ...(event.client_url ? { client_url: event.client_url } : {}),
      ...(event.links?.length ? { links: JSON.stringify(event.links) } : {}),
      ...(event.images?.length ? { images: JSON.stringify(event.images) } : {}),
    }
    return {
      ok: true,
      items: [
        {
          action: 'fire',
          fingerprint: fingerprint({ integration: integration.id, dedup_key: key }),
          at: payload.timestamp ?? now,
          labels,
          annotations,
          dedupKey: key,
          payload: dedupKey === undefined ? { ...stored, dedup_key: key } : stored,
        },
      ],
    }
  },
  accepted: (result) => ({
    status: 202,
    body: { status: 'success', message: 'Event processed', dedup_key: result.events[0]?.dedupKey },
  }),
  rejected: (issues) =>
    pagerDutyError(
      400,
      'invalid event',
      'Event object is invalid',
      issues.map((i) => i.message),
    ),
  refused: (refusal) => {
    switch (refusal.status) {
      // PagerDuty documents 202, 400, 429 and 5xx only; its clients log a 400's `errors` and
      // do not retry it, which is right for a body that will never fit.
      case 413:
        return pagerDutyError(400, 'invalid event', 'Event object is invalid', [refusal.message])
      case 429:
        return pagerDutyError(429, 'throttle event', 'Too many events for this routing key', [
          refusal.message,
        ])
      default:
        return pagerDutyError(
          refusal.status,
          refusalWords[refusal.status],
          'Event was not accepted',
          [refusal.message],
        )
    }
  },
}

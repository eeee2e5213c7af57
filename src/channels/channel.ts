import { z } from 'zod'
import { formatDuration, parseDuration, type Clock } from '../core/time.js'

/** What a channel may report after one delivery attempt; failures are values, not throws. */
export type DeliveryOutcome =
  | { kind: 'delivered'; detail?: string }
  | { kind: 'retry'; reason: string; afterMs?: number }
  | { kind: 'failed'; reason: string }

/** One message to one channel, rendered by the channel into its own format. */
export interface NotificationMessage {
  /** The outbox row id; receivers can use it to drop a duplicate delivery. */
  id: string
  /** `firing` or `resolved`, as in Alertmanager. */
  status: 'firing' | 'resolved'
  severity: string
  title: string
  text: string
  fingerprint: string
  labels: Record<string, string>
  annotations: Record<string, string>
  /** When the event happened (ms since epoch). */
  at: number
  /** Link to the object in Keel's UI, when the public URL is known. */
  url?: string
  /**
   * One-click actions for the person paged (signed acknowledge/resolve links), when Keel's
   * public URL is known. Each link opens a confirmation page; channels may render them as buttons.
   */
  actions?: NotificationAction[]
}

/** A link in a message that does something when followed and confirmed. */
export interface NotificationAction {
  kind: 'acknowledge' | 'resolve'
  label: string
  url: string
}

/** What a channel gets besides its config and the message. */
export interface SendContext {
  signal: AbortSignal
  /** The time source for signatures and `Retry-After` dates; the system clock when absent. */
  clock?: Clock
}

/** One kind of notification channel. `channels/index.ts` is the registry array. */
export interface ChannelDefinition<S extends z.ZodObject = z.ZodObject> {
  kind: string
  description: string
  configSchema: S
  /** Field names in `configSchema` that hold secrets (redacted in output, encrypted at rest). */
  secretFields: readonly string[]
  send(
    config: z.output<S>,
    message: NotificationMessage,
    context: SendContext,
  ): Promise<DeliveryOutcome>
}

/** Erases a definition's config type so definitions of several kinds can share one array. */
export type AnyChannelDefinition = ChannelDefinition<z.ZodObject>

/** Lets a channel file declare its definition with full type inference on `config`. */
export function defineChannel<S extends z.ZodObject>(
  definition: ChannelDefinition<S>,
): AnyChannelDefinition {
  return definition as unknown as AnyChannelDefinition
}

/** The system clock, for callers that do not pass one in `SendContext`. */
export const systemClock: Clock = { now: () => Date.now() }

/**
 * A timeout setting written like `10s` or as a number of seconds. Unlike core's `durationField`
 * it keeps the value as written, so a parsed config parses again to the same value (the outbox
 * stores parsed specs and `sendNotification` validates them once more).
 */
export function timeoutSetting(field: string, defaultValue: string, maxMs = 300_000) {
  return z
    .union([z.string(), z.number()])
    .superRefine((value, ctx) => {
      const ms = settingMs(value)
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${field} must be a duration like 10s or 1m, got ${JSON.stringify(value)}`,
        })
      } else if (ms < 100 || ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          message: `${field} must be between 100ms and ${formatDuration(maxMs)}, got ${formatDuration(ms)}`,
        })
      }
    })
    .default(defaultValue)
}

/** Milliseconds of a `timeoutSetting` value; numbers are seconds, as in the rest of keel.yaml. */
export function settingMs(value: string | number): number | undefined {
  if (typeof value === 'string') return parseDuration(value)
  return Number.isFinite(value) ? Math.round(value * 1000) : undefined
}

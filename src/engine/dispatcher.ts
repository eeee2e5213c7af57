import type { Logger } from 'pino'
import { channelSpecSchema, sendNotification, type ChannelSpec } from '../channels/index.js'
import type { DeliveryOutcome, NotificationMessage } from '../channels/channel.js'
import type { Clock } from '../core/time.js'
import { signLinkGrant, type AckLinkSettings } from '../services/ack-links.js'
import { PassWorker } from './pass-loop.js'
import { listChannels } from '../store/channels.js'
import type { Db } from '../store/dialect.js'
import {
  claimDueNotifications,
  markDelivered,
  markFailed,
  markRetry,
  nextNotificationDue,
  type Notification,
} from '../store/notifications.js'

/** Options of the outbox dispatcher. */
export interface DispatcherOptions {
  db: Db
  clock: Clock
  log: Logger
  owner: string
  /** Deliveries in flight at once, across channels. */
  concurrency?: number
  /** Give up after this many attempts. */
  maxAttempts?: number
  /** Give up on a message older than this (ms). */
  maxAgeMs?: number
  /** Per-attempt timeout (ms). */
  attemptTimeoutMs?: number
  leaseMs?: number
  /** The slowest polling pace; `nudge()` wakes the dispatcher sooner. */
  pollIntervalMs?: number
  onOutcome?: (notification: Notification, outcome: DeliveryOutcome) => void
  send?: typeof sendNotification
  /**
   * Where one-click links point and the key that signs them; without it messages go out
   * without their acknowledge/resolve links.
   */
  links?: AckLinkSettings
}

/**
 * The message as a channel gets it: the outbox row's link grant signed into `actions` at `now`,
 * so the links of a delivery retried hours later still work for their full lifetime.
 */
export function messageToSend(
  notification: Pick<Notification, 'message' | 'linkGrant'>,
  links: AckLinkSettings | undefined,
  now: number,
): NotificationMessage {
  const { actions: _stored, ...message } = notification.message
  if (links === undefined || notification.linkGrant === undefined) return message
  const actions = signLinkGrant(links, notification.linkGrant, now)
  return actions.length > 0 ? { ...message, actions } : message
}

/**
 * The delay before attempt `attempt + 1`: exponential from 10 s, capped at 30 min, with ±20 %
 * jitter so a receiver that comes back is not hit by every queued message at the same moment.
 */
export function retryDelayMs(attempt: number, random: number): number {
  const base = Math.min(10_000 * 2 ** Math.max(0, attempt - 1), 30 * 60_000)
  return Math.round(base * (0.8 + 0.4 * random))
}

/**
 * Delivers the notification outbox: claims due rows with a lease, sends each through its channel
 * with a timeout, and records delivered, retry-at or failed. A crash between sending and
 * recording leads to one more delivery after the lease expires (at least once); every message
 * carries its id so a receiver can drop the duplicate.
 */
export class Dispatcher extends PassWorker {
  private readonly inFlight = new Set<Promise<void>>()
  private readonly controllers = new Set<AbortController>()
  private channelCache: { at: number; specs: Map<string, ChannelSpec | string> } | undefined

  constructor(private readonly options: DispatcherOptions) {
    super({
      clock: options.clock,
      pollIntervalMs: options.pollIntervalMs ?? 5_000,
      onError: (error) =>
        options.log.error({ err: error }, 'reading the notification outbox failed'),
    })
  }

  /** Stops polling and waits for deliveries in flight until `deadlineMs`, then aborts them. */
  override async stop(deadlineMs = 5_000): Promise<void> {
    this.loop.stop()
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref())
    await Promise.race([Promise.all([this.loop.current, ...this.inFlight]), timeout])
    for (const controller of this.controllers) controller.abort()
    await Promise.all([this.loop.current, ...this.inFlight])
  }

  /** Forgets cached channel specs (after a config apply). */
  invalidateChannels(): void {
    this.channelCache = undefined
  }

  private async channelSpecs(): Promise<Map<string, ChannelSpec | string>> {
    const now = this.options.clock.now()
    if (this.channelCache && now - this.channelCache.at < 5_000) return this.channelCache.specs
    const specs = new Map<string, ChannelSpec | string>()
    for (const row of await listChannels(this.options.db)) {
      const parsed = channelSpecSchema.safeParse(row.spec)
      specs.set(
        row.slug,
        parsed.success
          ? parsed.data
          : `channel ${row.slug}: invalid spec: ${parsed.error.issues[0]?.message ?? ''}`,
      )
    }
    this.channelCache = { at: now, specs }
    return specs
  }

  protected nextDue(): Promise<number | undefined> {
    return nextNotificationDue(this.options.db)
  }

  protected async pass(): Promise<void> {
    const { db, clock, log, owner } = this.options
    const concurrency = this.options.concurrency ?? 32
    try {
      for (;;) {
        // Rows claimed while stop() ran are in flight too: the pass ends once they have settled.
        if (this.loop.stopped) break
        const free = concurrency - this.inFlight.size
        if (free <= 0) {
          await Promise.race(this.inFlight)
          continue
        }
        const now = clock.now()
        const claimed = await claimDueNotifications(
          db,
          owner,
          now,
          this.options.leaseMs ?? 120_000,
          free,
        )
        if (claimed.length === 0) break
        const specs = await this.channelSpecs()
        for (const notification of claimed) {
          const delivery = this.deliver(notification, specs.get(notification.channelSlug)).finally(
            () => this.inFlight.delete(delivery),
          )
          this.inFlight.add(delivery)
        }
      }
      await Promise.all(this.inFlight)
    } catch (error) {
      log.error({ err: error }, 'notification dispatch pass failed; will retry')
    }
  }

  private async deliver(
    notification: Notification,
    spec: ChannelSpec | string | undefined,
  ): Promise<void> {
    const { db, clock, log } = this.options
    let outcome: DeliveryOutcome
    if (spec === undefined) {
      outcome = {
        kind: 'failed',
        reason: `channel ${notification.channelSlug} does not exist (any more)`,
      }
    } else if (typeof spec === 'string') {
      outcome = { kind: 'failed', reason: spec }
    } else {
      const controller = new AbortController()
      this.controllers.add(controller)
      const attemptTimeoutMs = this.options.attemptTimeoutMs ?? 15_000
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        controller.abort()
      }, attemptTimeoutMs)
      try {
        const message = messageToSend(notification, this.options.links, clock.now())
        outcome = await (this.options.send ?? sendNotification)(spec, message, {
          signal: controller.signal,
          clock: this.options.clock,
        })
        if (timedOut && outcome.kind === 'retry') {
          outcome = { ...outcome, reason: `timed out: no answer within ${attemptTimeoutMs} ms` }
        }
      } catch (error) {
        outcome = { kind: 'retry', reason: `channel threw: ${String(error)}` }
      } finally {
        clearTimeout(timer)
        this.controllers.delete(controller)
      }
    }
    const now = clock.now()
    const maxAttempts = this.options.maxAttempts ?? 12
    const tooOld = now - notification.createdAt > (this.options.maxAgeMs ?? 24 * 3_600_000)
    try {
      if (outcome.kind === 'delivered') {
        await markDelivered(db, notification.id, now)
      } else if (outcome.kind === 'failed') {
        await markFailed(db, notification.id, outcome.reason)
      } else if (notification.attempts >= maxAttempts || tooOld) {
        await markFailed(
          db,
          notification.id,
          `gave up after ${notification.attempts} attempts: ${outcome.reason}`,
        )
      } else {
        const delay = Math.max(
          outcome.afterMs ?? 0,
          retryDelayMs(notification.attempts, Math.random()),
        )
        await markRetry(db, notification.id, now + delay, outcome.reason)
      }
    } catch (error) {
      // The lease will expire and the message will be tried again: at least once.
      log.error(
        { err: error, notification: notification.id },
        'recording a delivery outcome failed',
      )
    }
    if (outcome.kind !== 'delivered') {
      log.warn(
        {
          notification: notification.id,
          channel: notification.channelSlug,
          attempt: notification.attempts,
          outcome,
        },
        `notification to ${notification.channelSlug} not delivered: ${outcome.reason}`,
      )
    }
    this.options.onOutcome?.(notification, outcome)
  }
}

import type { Instant } from '../core/time.js'

/** What a rate limiter decided for one event. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number }

/** Limits events per key; `take` is called once per event with the current time. */
export interface RateLimiter {
  take(key: string, now: Instant): RateDecision
}

/** The default PagerDuty Events API v2 limit: about 120 events a minute per routing key. */
export const defaultEventsPerMinute = 120

interface Bucket {
  tokens: number
  updatedAt: Instant
}

/**
 * A token bucket per key: `perMinute` tokens refill evenly over a minute and a full bucket holds
 * one minute's worth, so a quiet sender may burst up to the limit (as PagerDuty's 60-second window
 * allows) and a steady one gets `perMinute / 60` events a second. State is in memory, per node.
 */
export class TokenBucketLimiter implements RateLimiter {
  readonly #buckets = new Map<string, Bucket>()
  readonly #capacity: number
  readonly #refillPerMs: number

  constructor(perMinute: number = defaultEventsPerMinute) {
    if (!(perMinute > 0)) throw new RangeError(`perMinute must be > 0, got ${perMinute}`)
    this.#capacity = perMinute
    this.#refillPerMs = perMinute / 60_000
  }

  take(key: string, now: Instant): RateDecision {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, updatedAt: now }
    const elapsed = Math.max(0, now - bucket.updatedAt)
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + elapsed * this.#refillPerMs)
    bucket.updatedAt = now
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { allowed: true }
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.#refillPerMs) }
  }
}

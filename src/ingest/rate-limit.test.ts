import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter } from './rate-limit.js'

const t0 = Date.UTC(2024, 4, 1, 12)

describe('TokenBucketLimiter', () => {
  it('lets a quiet sender burst up to one minute’s worth, then refuses', () => {
    const limiter = new TokenBucketLimiter(120)
    for (let i = 0; i < 120; i++) expect(limiter.take('pd', t0).allowed).toBe(true)
    expect(limiter.take('pd', t0)).toEqual({ allowed: false, retryAfterMs: 500 })
  })

  it('refills evenly: 120 a minute is one every 500 ms', () => {
    const limiter = new TokenBucketLimiter(120)
    for (let i = 0; i < 120; i++) limiter.take('pd', t0)
    expect(limiter.take('pd', t0 + 499).allowed).toBe(false)
    expect(limiter.take('pd', t0 + 500).allowed).toBe(true)
    expect(limiter.take('pd', t0 + 500).allowed).toBe(false)
  })

  it('keeps one bucket per key', () => {
    const limiter = new TokenBucketLimiter(1)
    expect(limiter.take('a', t0).allowed).toBe(true)
    expect(limiter.take('a', t0).allowed).toBe(false)
    expect(limiter.take('b', t0).allowed).toBe(true)
  })

  it('never holds more than a full bucket after a long quiet spell', () => {
    const limiter = new TokenBucketLimiter(2)
    limiter.take('a', t0)
    const later = t0 + 3_600_000
    expect([1, 2, 3].map(() => limiter.take('a', later).allowed)).toEqual([true, true, false])
  })

  it('survives a clock that steps back', () => {
    const limiter = new TokenBucketLimiter(60)
    limiter.take('a', t0)
    expect(limiter.take('a', t0 - 10_000).allowed).toBe(true)
  })

  it.each([0, -1, Number.NaN])('refuses a limit of %s', (perMinute) => {
    expect(() => new TokenBucketLimiter(perMinute)).toThrow(/perMinute/)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  base64UrlDecode,
  base64UrlEncode,
  decodeAckLinkPayload,
  encodeAckLinkPayload,
  type AckLinkClaims,
} from './ack-link.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const claims: AckLinkClaims = { incidentId: 42, user: 'ann', action: 'ack', expiresAt: t0 + 1000 }

describe('base64url', () => {
  it('round-trips any bytes and matches the standard alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = base64UrlEncode(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(base64UrlDecode(text)).toEqual(bytes)
      }),
    )
  })

  it.each(['a', 'ab+c', 'ab/c', 'abc='])('refuses %s', (text) => {
    expect(base64UrlDecode(text)).toBeUndefined()
  })
})

describe('ack link payloads', () => {
  it.each([
    { name: 'valid before it expires', now: t0, expected: { ok: true, claims } },
    {
      name: 'expired at its expiry instant',
      now: t0 + 1000,
      expected: { ok: false, reason: 'expired', claims },
    },
  ])('is $name', ({ now, expected }) => {
    expect(decodeAckLinkPayload(encodeAckLinkPayload(claims), now)).toEqual(expected)
  })

  it.each([
    { name: 'not base64url', payload: '!!!' },
    { name: 'not JSON', payload: base64UrlEncode(new TextEncoder().encode('{nope')) },
    { name: 'not UTF-8', payload: base64UrlEncode(Uint8Array.of(0xff, 0xfe)) },
    {
      name: 'an unknown action',
      payload: base64UrlEncode(
        new TextEncoder().encode(JSON.stringify({ v: 1, i: 1, u: 'a', a: 'delete', e: t0 })),
      ),
    },
    {
      name: 'an incident id that is not a number',
      payload: base64UrlEncode(
        new TextEncoder().encode(JSON.stringify({ v: 1, i: '1', u: 'a', a: 'ack', e: t0 })),
      ),
    },
    {
      name: 'a later version',
      payload: base64UrlEncode(
        new TextEncoder().encode(JSON.stringify({ v: 2, i: 1, u: 'a', a: 'ack', e: t0 })),
      ),
    },
  ])('refuses $name as malformed', ({ payload }) => {
    expect(decodeAckLinkPayload(payload, t0)).toEqual({ ok: false, reason: 'malformed' })
  })
})

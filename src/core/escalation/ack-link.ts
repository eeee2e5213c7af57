import { z } from 'zod'
import type { Instant } from '../time.js'

/** What a one-click link lets its holder do to one incident, until when. */
export interface AckLinkClaims {
  incidentId: number
  /** The user the link was sent to; the action is recorded as theirs. */
  user: string
  action: 'ack' | 'resolve'
  expiresAt: Instant
}

/** A payload that decoded to claims that are still valid, or why it did not. */
export type DecodeAckLinkResult =
  | { ok: true; claims: AckLinkClaims }
  | { ok: false; reason: 'malformed' }
  | { ok: false; reason: 'expired'; claims: AckLinkClaims }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** RFC 4648 §5 base64url without padding: safe in a URL path segment as it is. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2
    for (let c = 0; c < chars; c++) out += alphabet[(chunk >> (18 - 6 * c)) & 63]
  }
  return out
}

/** Decodes unpadded base64url; undefined for any other character or an impossible length. */
export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined
  const out: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text) {
    const value = alphabet.indexOf(char)
    if (value === -1) return undefined
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out.push((buffer >> bits) & 0xff)
    }
  }
  return Uint8Array.from(out)
}

// Short keys keep the link short; `v` lets a later format be told apart.
const payloadSchema = z.strictObject({
  v: z.literal(1),
  i: z.number().int().nonnegative(),
  u: z.string().min(1).max(200),
  a: z.enum(['ack', 'resolve']),
  e: z.number().int().nonnegative(),
})

/** The payload part of a one-click link: the claims as base64url JSON (signed by the caller). */
export function encodeAckLinkPayload(claims: AckLinkClaims): string {
  const payload = {
    v: 1,
    i: claims.incidentId,
    u: claims.user,
    a: claims.action,
    e: claims.expiresAt,
  }
  return base64UrlEncode(encoder.encode(JSON.stringify(payload)))
}

/**
 * The claims of a link's payload, refused when it is not one Keel wrote or has expired at
 * `now`. This checks the form only: the caller verifies the signature over the payload first.
 */
export function decodeAckLinkPayload(payload: string, now: Instant): DecodeAckLinkResult {
  const bytes = base64UrlDecode(payload)
  if (bytes === undefined) return { ok: false, reason: 'malformed' }
  let parsed: z.output<typeof payloadSchema>
  try {
    const result = payloadSchema.safeParse(JSON.parse(decoder.decode(bytes)))
    if (!result.success) return { ok: false, reason: 'malformed' }
    parsed = result.data
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  const claims: AckLinkClaims = {
    incidentId: parsed.i,
    user: parsed.u,
    action: parsed.a,
    expiresAt: parsed.e,
  }
  if (now >= claims.expiresAt) return { ok: false, reason: 'expired', claims }
  return { ok: true, claims }
}

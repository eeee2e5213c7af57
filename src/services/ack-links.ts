import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import type { NotificationAction } from '../channels/channel.js'
import {
  base64UrlDecode,
  base64UrlEncode,
  decodeAckLinkPayload,
  encodeAckLinkPayload,
  type AckLinkClaims,
} from '../core/escalation/index.js'
import type { LinkGrant } from '../store/notifications.js'

export type { AckLinkClaims }

/** The path every one-click link starts with: short, so it survives SMS and narrow chat clients. */
export const ackLinkPrefix = '/a/'

/** Keys shorter than this are refused: an HMAC key should carry at least 256 bits. */
export const minimumSecretKeyBytes = 32

// Each use of the key signs under its own label, so a signature made for one purpose (an ack
// link) can never pass as another (a calendar feed token).
function hmac(key: Uint8Array, purpose: string, text: string): Buffer {
  return createHmac('sha256', key).update(`keel:${purpose}:v1\n${text}`).digest()
}

/** A signature of `text` for one `purpose`, as base64url. */
export function signForPurpose(key: Uint8Array, purpose: string, text: string): string {
  return base64UrlEncode(hmac(key, purpose, text))
}

/** True when `signature` is the signature of `text` for `purpose`, compared in constant time. */
export function verifyForPurpose(
  key: Uint8Array,
  purpose: string,
  text: string,
  signature: string,
): boolean {
  const given = base64UrlDecode(signature)
  const expected = hmac(key, purpose, text)
  return given !== undefined && given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * The path of a one-click link, `/a/<payload>.<signature>`: the claims (incident, user, action,
 * expiry) as base64url JSON and an HMAC-SHA256 over them, so changing the incident or the action
 * breaks the signature. Prefix it with the public URL to send it.
 */
export function signAckLink(claims: AckLinkClaims, key: Uint8Array): string {
  const payload = encodeAckLinkPayload(claims)
  return `${ackLinkPrefix}${payload}.${signForPurpose(key, 'ack-link', payload)}`
}

/** Where one-click links point, and how they are signed. */
export interface AckLinkSettings {
  /** Keel's external URL (`server.publicUrl`). */
  publicUrl: string
  /** The key one-click links are signed with. */
  key: Uint8Array
  /** How long a one-click link works (default 24 h). */
  ttlMs?: number
}

const defaultAckLinkTtlMs = 24 * 3_600_000

/**
 * What one-click links a message about this incident may carry for `recipient` (an on-call user
 * id, or `channel:<slug>`): acknowledge while it is triggered, and resolve; none once resolved.
 * The outbox stores this grant, never the signed links (see `signLinkGrant`).
 */
export function incidentLinkGrant(
  incident: { id: number; status: string },
  recipient: string,
): LinkGrant | undefined {
  if (incident.status === 'resolved') return undefined
  return {
    incidentId: incident.id,
    recipient,
    actions: incident.status === 'triggered' ? ['ack', 'resolve'] : ['resolve'],
  }
}

const actionKinds = {
  ack: { kind: 'acknowledge', label: 'Acknowledge' },
  resolve: { kind: 'resolve', label: 'Resolve' },
} as const

/**
 * The signed links of a grant, valid from `now` for the link lifetime: the dispatcher calls it
 * as it sends a message, so a retried delivery carries links that work as long as fresh ones.
 */
export function signLinkGrant(
  links: AckLinkSettings,
  grant: LinkGrant,
  now: number,
): NotificationAction[] {
  const expiresAt = now + (links.ttlMs ?? defaultAckLinkTtlMs)
  const base = links.publicUrl.replace(/\/+$/, '')
  return grant.actions.map((action) => {
    const path = signAckLink(
      { incidentId: grant.incidentId, user: grant.recipient, action, expiresAt },
      links.key,
    )
    return { ...actionKinds[action], url: `${base}${path}` }
  })
}

/**
 * The signed one-click actions of an open incident, recorded as `user`'s when followed: acknowledge
 * while it is triggered, and resolve. A resolved incident gets none.
 */
export function incidentActions(
  links: AckLinkSettings,
  incident: { id: number; status: string },
  user: string,
  now: number,
): NotificationAction[] {
  const grant = incidentLinkGrant(incident, user)
  return grant ? signLinkGrant(links, grant, now) : []
}

/** A link that checked out, or why not, with a message for the person who followed it. */
export type VerifyAckLinkResult =
  | { ok: true; claims: AckLinkClaims }
  | { ok: false; reason: 'malformed' | 'signature'; message: string }
  | { ok: false; reason: 'expired'; message: string; claims: AckLinkClaims }

/**
 * Checks a one-click link (its token, or its path or URL ending in the token): the signature
 * first, so nothing about an unsigned payload is believed, then the expiry at `now`. Links are
 * not single-use: acknowledging or resolving twice is harmless, and a short expiry bounds reuse.
 */
export function verifyAckLink(link: string, key: Uint8Array, now: number): VerifyAckLinkResult {
  const token = link.slice(link.lastIndexOf('/') + 1)
  const dot = token.indexOf('.')
  const malformed = {
    ok: false as const,
    reason: 'malformed' as const,
    message: 'This link is not a Keel link or was cut short; open it from the message again.',
  }
  if (dot <= 0) return malformed
  const payload = token.slice(0, dot)
  if (!verifyForPurpose(key, 'ack-link', payload, token.slice(dot + 1))) {
    return {
      ok: false,
      reason: 'signature',
      message:
        'This link was not signed by this Keel (it was changed, or the secret key was replaced); use the incident page instead.',
    }
  }
  const decoded = decodeAckLinkPayload(payload, now)
  if (decoded.ok) return decoded
  if (decoded.reason === 'malformed') return malformed
  return {
    ok: false,
    reason: 'expired',
    claims: decoded.claims,
    message: `This link expired at ${new Date(decoded.claims.expiresAt).toISOString()}; acknowledge incident #${decoded.claims.incidentId} from the incident page or a newer message.`,
  }
}

/** Decodes a key file's text (base64url); throws naming `where` when it is too short or not a key. */
export function keyFromText(text: string, where: string): Uint8Array {
  const key = base64UrlDecode(text.trim())
  if (key === undefined || key.length < minimumSecretKeyBytes) {
    throw new Error(
      `${where} must hold at least ${minimumSecretKeyBytes} random bytes as base64url; delete it to have Keel create a new one (links already sent stop working)`,
    )
  }
  return key
}

/**
 * Reads the secret key at `path`, or creates it with 32 random bytes, readable only by its owner
 * (mode 0600). Creation is exclusive, so two processes starting at once end up with one key.
 */
export async function loadOrCreateSecretKey(path: string): Promise<Uint8Array> {
  try {
    return keyFromText(await readFile(path, 'utf8'), `secret key file ${path}`)
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error
  }
  try {
    await writeSecretKeyFile(path, randomBytes(32))
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error
  }
  return keyFromText(await readFile(path, 'utf8'), `secret key file ${path}`)
}

/**
 * Writes a key file that must not exist yet (EEXIST otherwise), readable only by its owner
 * (mode 0600), synced to disk before it returns.
 */
export async function writeSecretKeyFile(path: string, key: Uint8Array): Promise<void> {
  const file = await open(path, 'wx', 0o600)
  try {
    await file.writeFile(`${base64UrlEncode(key)}\n`)
    await file.sync()
  } finally {
    await file.close()
  }
}

/**
 * The key that signs links and feed tokens: `KEEL_SECRET_KEY` when set (every node of a
 * PostgreSQL cluster must share it), else the key file at `keyPath`, created on first start.
 */
export async function resolveSecretKey(options: {
  env: Record<string, string | undefined>
  keyPath: string
}): Promise<{ key: Uint8Array; source: 'env' | 'file' }> {
  const text = options.env.KEEL_SECRET_KEY
  if (text !== undefined && text !== '') {
    if (Buffer.byteLength(text, 'utf8') < minimumSecretKeyBytes) {
      throw new Error(
        `KEEL_SECRET_KEY must be at least ${minimumSecretKeyBytes} characters of random text; generate one with: openssl rand -base64 32`,
      )
    }
    return { key: Buffer.from(text, 'utf8'), source: 'env' }
  }
  return { key: await loadOrCreateSecretKey(options.keyPath), source: 'file' }
}

import type { FastifyRequest } from 'fastify'
import { AuthenticationError, NotAllowedError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { hashToken } from '../services/auth.js'
import { appendAudit } from '../store/audit.js'
import { findApiTokenByHash } from '../store/auth.js'
import type { Db } from '../store/dialect.js'
import { cookieValue, sessionCookieName, sessionKey } from './session-routes.js'

/** The audit action of a request refused for its role or team (403). */
export const deniedAction = 'access.denied'

/** The audit action of a request that presented a bad token or session cookie (401). */
export const badCredentialsAction = 'access.bad-credentials'

/** How long one (actor or address, route, reason) is recorded at most once: a minute. */
export const denialWindowMs = 60_000

/** Refusals recorded per node and window across every key, so many addresses cannot flood. */
export const denialEventsPerWindow = 120

/** Keys remembered at most; the oldest go first, so a flood of new keys cannot exhaust memory. */
const maxKeys = 10_000

/** Whether to record a refusal now, and how many like it were held back since the last one. */
export type DenialAdmission = { record: false } | { record: true; suppressed: number }

/**
 * Records each key at most once a window: repeats within the window are counted, and the count
 * is carried into the next event recorded for that key. Over `perWindow` events in a window
 * across all keys, further refusals are only counted, and that count goes with the next event
 * recorded for any key (`suppressedOther`).
 */
export class DenialLimiter {
  private readonly keys = new Map<string, { since: number; suppressed: number }>()
  private windowStart = Number.NEGATIVE_INFINITY
  private recordedInWindow = 0
  private overflow = 0

  constructor(
    private readonly windowMs = denialWindowMs,
    private readonly perWindow = denialEventsPerWindow,
  ) {}

  /** Decides for one refusal with this key at `now`. */
  admit(key: string, now: number): DenialAdmission & { suppressedOther?: number } {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now
      this.recordedInWindow = 0
    }
    const entry = this.keys.get(key)
    if (entry && now - entry.since < this.windowMs) {
      entry.suppressed++
      return { record: false }
    }
    if (this.recordedInWindow >= this.perWindow) {
      if (entry) entry.suppressed++
      else this.overflow++
      return { record: false }
    }
    this.recordedInWindow++
    const suppressed = entry?.suppressed ?? 0
    this.keys.delete(key)
    this.keys.set(key, { since: now, suppressed: 0 })
    this.trim()
    const other = this.overflow
    this.overflow = 0
    return { record: true, suppressed, ...(other > 0 ? { suppressedOther: other } : {}) }
  }

  private trim(): void {
    // Map order is the order of the last record, so the first keys are the stalest; their
    // held-back repeats move to the shared count rather than vanish.
    for (const [key, entry] of this.keys) {
      if (this.keys.size <= maxKeys) return
      this.overflow += entry.suppressed
      this.keys.delete(key)
    }
  }
}

/** The credential a request presented, for the hint in the audit trail (never the secret). */
function presentedCredential(
  request: FastifyRequest,
): { kind: 'bearer' | 'session' | 'authorization'; hint?: string; token?: string } | undefined {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match?.[1]) return { kind: 'authorization' }
    return { kind: 'bearer', token: match[1], hint: `sha256:${hashToken(match[1]).slice(0, 12)}` }
  }
  const session = cookieValue(request.headers.cookie, sessionCookieName)
  if (session) return { kind: 'session', hint: `sha256:${sessionKey(session).slice(0, 12)}` }
  return undefined
}

/**
 * Appends one audit event for a refused API request: a 403 (role or team), or a 401 for a
 * token or session cookie that was presented but is not valid. It records the actor (or, for an
 * unknown credential, a hint: the start of its SHA-256), the route pattern (never the raw URL,
 * which may carry secrets in its query), the client address and the reason, at most once a
 * minute per (actor or address, route, reason), with the count of repeats held back. It never
 * throws: a failure to record is logged and the refusal stands.
 */
export async function auditRefusal(
  deps: { db: Db; clock: Clock; limiter: DenialLimiter },
  request: FastifyRequest,
  error: unknown,
): Promise<void> {
  const denied = error instanceof NotAllowedError
  const credential = presentedCredential(request)
  if (!denied && !(error instanceof AuthenticationError && credential)) return
  if (!denied && request.routeOptions.config.role === 'public') return
  try {
    const route = `${request.method} ${request.routeOptions.url ?? '(not found)'}`
    const reason = reasonOf(error as Error, request, route).slice(0, 300)
    const action = denied ? deniedAction : badCredentialsAction
    const who = request.actor?.name ?? `address:${request.ip}`
    const now = deps.clock.now()
    const admitted = deps.limiter.admit(`${who}\n${route}\n${action}\n${reason}`, now)
    if (!admitted.record) return
    let actor = request.actor?.name ?? 'anonymous'
    if (!request.actor && credential?.token) {
      // A revoked or expired token is still known: name it, as its owner will want to know.
      const row = await findApiTokenByHash(deps.db, hashToken(credential.token))
      if (row) actor = `token:${row.name}`
    }
    await appendAudit(deps.db, {
      at: now,
      actor,
      action,
      objectType: 'route',
      objectId: route,
      source: request.ip,
      details: {
        status: denied ? 403 : 401,
        reason,
        ...(credential ? { credential: credential.kind } : {}),
        ...(credential?.hint ? { hint: credential.hint } : {}),
        ...(admitted.suppressed > 0 ? { suppressed: admitted.suppressed } : {}),
        ...(admitted.suppressedOther ? { suppressedOther: admitted.suppressedOther } : {}),
      },
    })
  } catch (failure) {
    request.log.error({ err: failure }, 'could not record a refused request in the audit trail')
  }
}

/** The error's message with the raw URL (which may carry query secrets) replaced by the route. */
function reasonOf(error: Error, request: FastifyRequest, route: string): string {
  return error.message.split(request.url).join(route.slice(request.method.length + 1))
}

import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AuthenticationError, NotAllowedError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { authenticateToken, authenticateTokenHash, hashToken } from '../services/auth.js'
import type { Actor } from '../services/context.js'
import { appendAudit } from '../store/audit.js'
import type { Db } from '../store/dialect.js'

/** The cookie that carries a browser session id. */
export const sessionCookieName = 'keel_session'

/**
 * The header a browser must send on every non-GET request authenticated by the session cookie.
 * A cross-site form or image cannot set a custom header, and a cross-site `fetch` that sets one
 * needs a CORS preflight, which Keel never grants; so its presence proves a same-origin caller.
 */
export const csrfHeader = 'x-keel-csrf'

/** How long a session lasts from login, whatever the activity: 12 hours. */
export const sessionLifetimeMs = 12 * 3_600_000

/** Sessions kept at most; the oldest is dropped first, so a login loop cannot exhaust memory. */
const maxSessions = 10_000

interface Session {
  tokenHash: string
  expiresAt: number
}

/** A session just opened: the id goes into the cookie and is never stored. */
export interface OpenedSession {
  id: string
  expiresAt: number
}

/**
 * Browser sessions, kept in memory by this API instance and keyed by the SHA-256 of their id (a
 * leaked heap dump or log does not hand out live cookies). Each session remembers only the hash
 * of the API token it was opened with, and every request re-checks that token, so revoking or
 * expiring the token ends its sessions at once. Sessions do not survive a restart and are not
 * shared between nodes: behind a load balancer with several Keel nodes, use sticky sessions or
 * log in again. A table in the store would lift both limits; that is left for later.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>()

  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs = sessionLifetimeMs,
  ) {}

  /** Opens a session for the token with this hash. */
  open(tokenHash: string): OpenedSession {
    const now = this.clock.now()
    this.sweep(now)
    while (this.sessions.size >= maxSessions) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
    const id = randomBytes(32).toString('base64url')
    const expiresAt = now + this.lifetimeMs
    this.sessions.set(sessionKey(id), { tokenHash, expiresAt })
    return { id, expiresAt }
  }

  /** The live session with this id; an expired one is forgotten and reads as absent. */
  find(id: string): Session | undefined {
    const key = sessionKey(id)
    const session = this.sessions.get(key)
    if (!session) return undefined
    if (session.expiresAt <= this.clock.now()) {
      this.sessions.delete(key)
      return undefined
    }
    return session
  }

  /** Ends a session; unknown ids are ignored. */
  close(id: string): void {
    this.sessions.delete(sessionKey(id))
  }

  /** How many sessions are held (expired ones included until the next sweep). */
  get size(): number {
    return this.sessions.size
  }

  private sweep(now: number): void {
    for (const [key, session] of this.sessions) {
      if (session.expiresAt <= now) this.sessions.delete(key)
    }
  }
}

function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex')
}

/** The value of one cookie in a request's Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Authenticates a request by its session cookie, as the token the session was opened with.
 * Returns undefined when there is no cookie; throws when the session is unknown or expired, or
 * when a state-changing request lacks the CSRF header.
 */
export async function authenticateSession(
  deps: { db: Db; clock: Clock; sessions: SessionStore },
  request: FastifyRequest,
): Promise<Actor | undefined> {
  const id = cookieValue(request.headers.cookie, sessionCookieName)
  if (!id) return undefined
  const session = deps.sessions.find(id)
  if (!session) throw new AuthenticationError('session expired or unknown: log in again')
  if (!safeMethods.has(request.method) && request.headers[csrfHeader] !== '1') {
    throw new NotAllowedError(
      `requests authenticated by the session cookie must send the header X-Keel-CSRF: 1 (cross-site request protection); ${request.method} ${request.url} did not`,
    )
  }
  return authenticateTokenHash(deps, session.tokenHash, request.ip)
}

function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  // Secure only when the browser reached Keel over HTTPS, or a plain-HTTP loopback login breaks.
  const secure = request.protocol === 'https' ? '; Secure' : ''
  return `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`
}

function requireCsrfHeader(request: FastifyRequest): void {
  if (request.headers[csrfHeader] !== '1') {
    throw new NotAllowedError(
      `${request.method} /api/v1/session must send the header X-Keel-CSRF: 1 (cross-site request protection)`,
    )
  }
}

const sessionSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Who the session acts as (`token:<name>`).' },
    role: { type: 'string', enum: ['viewer', 'responder', 'operator', 'admin'] },
    expiresAt: { type: 'integer', description: 'ms since the epoch' },
  },
} as const

const tags = ['session']

/**
 * Browser login: `POST /api/v1/session` trades an API token for an HttpOnly session cookie,
 * `GET` says who the cookie (or bearer token) acts as, and `DELETE` logs out.
 */
export async function sessionRoutes(
  app: FastifyInstance,
  options: { deps: { db: Db; clock: Clock }; sessions: SessionStore },
) {
  const { deps, sessions } = options

  app.post<{ Body: { token: string } }>(
    '/api/v1/session',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Log in with an API token (sets the session cookie)',
        description:
          'For the web UI. Send the header `X-Keel-CSRF: 1`. The cookie then authenticates like the token; non-GET requests made with it must send the same header.',
        tags,
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
        },
        response: { 200: { description: 'Logged in.', ...sessionSchema } },
      },
    },
    async (request, reply: FastifyReply) => {
      requireCsrfHeader(request)
      const token = request.body.token.trim()
      const actor = await authenticateToken(deps, token, request.ip)
      const opened = sessions.open(hashToken(token))
      await appendAudit(deps.db, {
        at: deps.clock.now(),
        actor: actor.name,
        action: 'session.login',
        objectType: 'session',
        objectId: actor.name,
        source: request.ip,
      })
      const maxAge = Math.floor((opened.expiresAt - deps.clock.now()) / 1000)
      reply.header('set-cookie', sessionCookie(request, opened.id, maxAge))
      reply.header('cache-control', 'no-store')
      return { name: actor.name, role: actor.role, expiresAt: opened.expiresAt }
    },
  )

  app.get(
    '/api/v1/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who the caller is',
        tags,
        response: {
          200: {
            description: 'The caller; expiresAt only for a cookie session.',
            ...sessionSchema,
          },
        },
      },
    },
    async (request, reply) => {
      // The route guard has authenticated the request (role viewer) before this runs.
      const actor = request.actor as Actor
      const id = cookieValue(request.headers.cookie, sessionCookieName)
      const session = id && !request.headers.authorization ? sessions.find(id) : undefined
      reply.header('cache-control', 'no-store')
      return {
        name: actor.name,
        role: actor.role,
        ...(session ? { expiresAt: session.expiresAt } : {}),
      }
    },
  )

  app.delete(
    '/api/v1/session',
    {
      // Public so that an expired session can still clear its cookie.
      config: { role: 'public' },
      schema: {
        summary: 'Log out (ends the session and clears the cookie)',
        tags,
        response: { 204: { description: 'Logged out.', type: 'null' } },
      },
    },
    async (request, reply) => {
      const id = cookieValue(request.headers.cookie, sessionCookieName)
      if (id) {
        requireCsrfHeader(request)
        sessions.close(id)
      }
      reply.header('set-cookie', sessionCookie(request, '', 0))
      return reply.code(204).send()
    },
  )
}

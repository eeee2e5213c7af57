import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AuthenticationError, InputError, NotAllowedError, NotFoundError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { authenticateToken, authenticateTokenHash, hashToken } from '../services/auth.js'
import type { Actor } from '../services/context.js'
import { loginWithPassword, userActor } from '../services/users.js'
import { appendAudit } from '../store/audit.js'
import { getUser } from '../store/auth.js'
import type { Db } from '../store/dialect.js'
import {
  deleteEndedSessions,
  findSession,
  insertSession,
  listUserSessions,
  revokeSession,
  revokeUserSessions,
  touchSession,
  type StoredSession,
} from '../store/sessions.js'

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

/** How long a node trusts a session row it read before reading it again: 5 seconds. */
export const sessionCacheMs = 5_000

/** How often a session's last-seen time is written: once a minute at most. */
const touchEveryMs = 60_000

/** Cached session rows kept at most, so a flood of bogus cookies cannot exhaust memory. */
const maxCached = 10_000

/** A session just opened: the id goes into the cookie and is stored only as its hash. */
export interface OpenedSession {
  id: string
  idHash: string
  expiresAt: number
}

/** Who opens a session: a user (password or OIDC login) or an API token (token login). */
export type SessionOwner = { username: string } | { tokenHash: string }

/**
 * Browser sessions, stored in the `sessions` table so they survive restarts and work on every
 * node; the cookie value is kept only as its SHA-256. Each node caches rows for
 * `sessionCacheMs`, so a revocation made on another node takes effect within 5 seconds (on this
 * node at once). Each request re-checks the user (disabled?) or the token (revoked? expired?).
 */
export class SessionStore {
  private readonly cache = new Map<string, { session: StoredSession; readAt: number }>()

  constructor(
    private readonly deps: { db: Db; clock: Clock },
    private readonly lifetimeMs = sessionLifetimeMs,
  ) {}

  /** Opens a session for a user or a token. */
  async open(
    owner: SessionOwner,
    client: { ip?: string; userAgent?: string } = {},
  ): Promise<OpenedSession> {
    const now = this.deps.clock.now()
    const id = randomBytes(32).toString('base64url')
    const idHash = sessionKey(id)
    const expiresAt = now + this.lifetimeMs
    await insertSession(this.deps.db, {
      idHash,
      ...owner,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      ...(client.ip ? { ip: client.ip } : {}),
      ...(client.userAgent ? { userAgent: client.userAgent.slice(0, 300) } : {}),
    })
    // Ended sessions are kept a day for "where was I logged in", then swept on logins.
    await deleteEndedSessions(this.deps.db, now - 24 * 3_600_000)
    return { id, idHash, expiresAt }
  }

  /** The live session with this cookie value, or undefined when unknown, revoked or expired. */
  async find(id: string): Promise<StoredSession | undefined> {
    const idHash = sessionKey(id)
    const now = this.deps.clock.now()
    let cached = this.cache.get(idHash)
    if (!cached || now - cached.readAt >= sessionCacheMs) {
      const session = await findSession(this.deps.db, idHash)
      if (!session) {
        this.cache.delete(idHash)
        return undefined
      }
      if (this.cache.size >= maxCached) this.cache.clear()
      cached = { session, readAt: now }
      this.cache.set(idHash, cached)
    }
    const { session } = cached
    if (session.revokedAt !== undefined || session.expiresAt <= now) return undefined
    if (now - session.lastSeenAt >= touchEveryMs) {
      session.lastSeenAt = now
      await touchSession(this.deps.db, idHash, now)
    }
    return session
  }

  /** Ends the session with this cookie value; unknown ids are ignored. */
  async close(id: string): Promise<void> {
    await this.revoke(sessionKey(id))
  }

  /** Revokes a session by its hash (the id the API lists); false when unknown or already ended. */
  async revoke(idHash: string): Promise<boolean> {
    this.cache.delete(idHash)
    return revokeSession(this.deps.db, idHash, this.deps.clock.now())
  }

  /** Revokes every session of a user; returns how many. */
  async revokeUser(username: string): Promise<number> {
    this.forgetUser(username)
    return revokeUserSessions(this.deps.db, username, this.deps.clock.now())
  }

  /** Drops a user's cached sessions, after a change in the store revoked them. */
  forgetUser(username: string): void {
    for (const [key, entry] of this.cache) {
      if (entry.session.username === username) this.cache.delete(key)
    }
  }

  /** How many session rows this node holds in its cache. */
  get size(): number {
    return this.cache.size
  }
}

/** The hash a session is stored and listed under. */
export function sessionKey(id: string): string {
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

/** The actor a stored session acts as: its user (if still enabled) or its token (if still valid). */
async function sessionActor(
  deps: { db: Db; clock: Clock },
  session: StoredSession,
  source: string,
): Promise<Actor> {
  if (session.username !== undefined) {
    const user = await getUser(deps.db, session.username)
    if (!user || user.disabled) {
      throw new AuthenticationError(`user ${session.username} is disabled; the session has ended`)
    }
    return userActor(deps, user, source)
  }
  if (session.tokenHash !== undefined) return authenticateTokenHash(deps, session.tokenHash, source)
  throw new AuthenticationError('session expired or unknown: log in again')
}

/**
 * Authenticates a request by its session cookie. Returns undefined when there is no cookie;
 * throws when the session is unknown, revoked or expired, or when a state-changing request lacks
 * the CSRF header.
 */
export async function authenticateSession(
  deps: { db: Db; clock: Clock; sessions: SessionStore },
  request: FastifyRequest,
): Promise<Actor | undefined> {
  const id = cookieValue(request.headers.cookie, sessionCookieName)
  if (!id) return undefined
  const session = await deps.sessions.find(id)
  if (!session) throw new AuthenticationError('session expired or unknown: log in again')
  if (!safeMethods.has(request.method) && request.headers[csrfHeader] !== '1') {
    throw new NotAllowedError(
      `requests authenticated by the session cookie must send the header X-Keel-CSRF: 1 (cross-site request protection); ${request.method} ${request.url} did not`,
    )
  }
  return sessionActor(deps, session, request.ip)
}

/** The Set-Cookie value for the session cookie. */
export function sessionCookie(
  request: FastifyRequest,
  value: string,
  maxAgeSeconds: number,
): string {
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
    name: {
      type: 'string',
      description: 'Who the session acts as (`user:<id>` or `token:<name>`).',
    },
    user: { type: 'string', description: 'The login user, for a user session.' },
    role: { type: 'string', enum: ['viewer', 'responder', 'operator', 'admin'] },
    teams: { type: 'object', description: 'Team scope: team → role; absent for no scope.' },
    expiresAt: { type: 'integer', description: 'ms since the epoch' },
  },
} as const

const sessionListSchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          current: { type: 'boolean' },
          createdAt: { type: 'integer' },
          lastSeenAt: { type: 'integer' },
          expiresAt: { type: 'integer' },
          ip: { type: 'string' },
          userAgent: { type: 'string' },
        },
      },
    },
  },
} as const

const tags = ['session']

function sessionItem(session: StoredSession, currentHash?: string) {
  return {
    id: session.idHash,
    current: session.idHash === currentHash,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    expiresAt: session.expiresAt,
    ...(session.ip ? { ip: session.ip } : {}),
    ...(session.userAgent ? { userAgent: session.userAgent } : {}),
  }
}

/** Sends the session cookie and the login answer. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { db: Db; clock: Clock; sessions: SessionStore },
  owner: SessionOwner,
  actor: Actor,
  via: string,
): Promise<{ name: string; role: string; expiresAt: number; user?: string }> {
  const opened = await deps.sessions.open(owner, {
    ip: request.ip,
    ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
  })
  await appendAudit(deps.db, {
    at: deps.clock.now(),
    actor: actor.name,
    action: 'session.login',
    objectType: 'session',
    objectId: opened.idHash,
    source: request.ip,
    details: { via },
  })
  const maxAge = Math.floor((opened.expiresAt - deps.clock.now()) / 1000)
  reply.header('set-cookie', sessionCookie(request, opened.id, maxAge))
  reply.header('cache-control', 'no-store')
  return {
    name: actor.name,
    role: actor.role,
    ...(actor.user ? { user: actor.user } : {}),
    expiresAt: opened.expiresAt,
  }
}

/**
 * Browser login: `POST /api/v1/session` trades a user name and password (or an API token) for an
 * HttpOnly session cookie, `GET` says who the caller is, `DELETE` logs out; `/api/v1/sessions`
 * lists and revokes the caller's sessions, `/api/v1/users/:id/sessions` an admin's view of anyone's.
 */
export async function sessionRoutes(
  app: FastifyInstance,
  options: { deps: { db: Db; clock: Clock }; sessions: SessionStore },
) {
  const { sessions } = options
  const deps = { ...options.deps, sessions }

  app.post<{ Body: { token?: string; user?: string; password?: string } }>(
    '/api/v1/session',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Log in with a user name and password, or an API token (sets the session cookie)',
        description:
          'For the web UI. Send the header `X-Keel-CSRF: 1` and either `{ user, password }` or `{ token }`. The cookie then authenticates the browser; non-GET requests made with it must send the same header. Failed password logins are limited per user name and per address (429 with Retry-After).',
        tags,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 512 },
            user: { type: 'string', minLength: 1, maxLength: 200 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        response: {
          200: { description: 'Logged in.', ...sessionSchema },
          429: {
            description: 'Too many failed logins; retry after `Retry-After` seconds.',
            type: 'object',
          },
        },
      },
    },
    async (request, reply: FastifyReply) => {
      const { token, user, password } = request.body
      if (token === undefined && (user === undefined || password === undefined)) {
        throw new InputError(
          'body must have user and password, or token: send { "user": "<id>", "password": "..." }',
        )
      }
      requireCsrfHeader(request)
      if (token !== undefined) {
        const trimmed = token.trim()
        const actor = await authenticateToken(deps, trimmed, request.ip)
        return startSession(request, reply, deps, { tokenHash: hashToken(trimmed) }, actor, 'token')
      }
      const outcome = await loginWithPassword(deps, {
        username: user ?? '',
        password: password ?? '',
        source: request.ip,
      })
      if (!outcome.ok) {
        if (outcome.reason === 'rate-limited') {
          reply.header('retry-after', String(outcome.retryAfterSeconds))
          return reply
            .code(429)
            .send({ error: { name: 'RateLimitedError', message: outcome.message } })
        }
        throw new AuthenticationError(outcome.message)
      }
      return startSession(
        request,
        reply,
        deps,
        { username: outcome.user.username },
        outcome.actor,
        'password',
      )
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
      const actor = request.actor as Actor
      const id = cookieValue(request.headers.cookie, sessionCookieName)
      const session = id && !request.headers.authorization ? await sessions.find(id) : undefined
      reply.header('cache-control', 'no-store')
      return {
        name: actor.name,
        role: actor.role,
        ...(actor.user ? { user: actor.user } : {}),
        ...(actor.teams ? { teams: actor.teams } : {}),
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
        const session = await findSession(deps.db, sessionKey(id))
        if (await sessions.revoke(sessionKey(id))) {
          await appendAudit(deps.db, {
            at: deps.clock.now(),
            actor: session?.username ? `user:${session.username}` : 'session',
            action: 'session.logout',
            objectType: 'session',
            objectId: sessionKey(id),
            source: request.ip,
          })
        }
      }
      reply.header('set-cookie', sessionCookie(request, '', 0))
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/v1/sessions',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'My live browser sessions (user logins only)',
        tags,
        response: { 200: { description: 'Sessions, newest first.', ...sessionListSchema } },
      },
    },
    async (request) => {
      const actor = request.actor as Actor
      if (!actor.user) return { items: [] }
      const id = cookieValue(request.headers.cookie, sessionCookieName)
      const current = id ? sessionKey(id) : undefined
      const rows = await listUserSessions(deps.db, actor.user, deps.clock.now())
      return { items: rows.map((s) => sessionItem(s, current)) }
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Revoke one of my sessions (admins: anyone’s)',
        tags,
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 204: { description: 'Revoked.', type: 'null' } },
      },
    },
    async (request, reply) => {
      const actor = request.actor as Actor
      const session = await findSession(deps.db, request.params.id)
      const mine = session?.username !== undefined && session.username === actor.user
      if (!session || session.revokedAt !== undefined || (!mine && actor.role !== 'admin')) {
        throw new NotFoundError(`session ${request.params.id} is not one of your live sessions`)
      }
      await sessions.revoke(session.idHash)
      await appendAudit(deps.db, {
        at: deps.clock.now(),
        actor: actor.name,
        action: 'session.revoke',
        objectType: 'session',
        objectId: session.idHash,
        source: request.ip,
        ...(session.username ? { details: { user: session.username } } : {}),
      })
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string } }>(
    '/api/v1/users/:id/sessions',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'A user’s live sessions',
        tags: ['users'],
        response: { 200: { description: 'Sessions, newest first.', ...sessionListSchema } },
      },
    },
    async (request) => {
      const rows = await listUserSessions(deps.db, request.params.id, deps.clock.now())
      return { items: rows.map((s) => sessionItem(s)) }
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/api/v1/users/:id/sessions',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke every session of a user',
        tags: ['users'],
        response: {
          200: {
            description: 'How many were revoked.',
            type: 'object',
            properties: { revoked: { type: 'integer' } },
          },
        },
      },
    },
    async (request) => {
      const actor = request.actor as Actor
      const revoked = await sessions.revokeUser(request.params.id)
      await appendAudit(deps.db, {
        at: deps.clock.now(),
        actor: actor.name,
        action: 'user.sessions-revoke',
        objectType: 'user',
        objectId: request.params.id,
        source: request.ip,
        details: { revoked },
      })
      return { revoked }
    },
  )
}

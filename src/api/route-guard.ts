import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import { AuthenticationError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { ingestRouteUrls } from '../ingest/index.js'
import { authenticateToken, requireRole, roles } from '../services/auth.js'
import type { Actor } from '../services/context.js'
import type { Role } from '../store/auth.js'
import type { Db } from '../store/dialect.js'
import { auditRefusal, DenialLimiter } from './denial-audit.js'
import { authenticateSession, type SessionStore } from './session-routes.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role that may call the route; every route outside `publicRoutes` declares one. */
    role?: Role | 'public'
  }
  interface FastifyRequest {
    /** Who is calling, set by the route guard on authenticated routes. */
    actor?: Actor
  }
}

/**
 * The only routes that need no token: the health probe, the heartbeat ping URLs, which carry
 * their own unguessable token in the path, and the ingest endpoints. Everything else must
 * declare `config.role`.
 */
export const publicRoutes: readonly string[] = [
  '/healthz',
  '/ping/:token',
  '/ping/:token/start',
  '/ping/:token/fail',
  '/ping/:token/:exitStatus',
  // Alertmanager, Prometheus, PagerDuty senders and scripts cannot hold a Keel API token: each
  // ingest route authenticates with its integration's own key (in the path, as a Bearer header
  // or as PagerDuty's routing_key) and answers 401 itself when it is wrong.
  ...ingestRouteUrls,
  // One-click acknowledge/resolve links from pages: the signed token in the path is the
  // credential (HMAC, bound to incident, user and action, with an expiry). GET only confirms.
  '/a/:token',
  // Calendar apps cannot send a bearer token; the feed checks its per-schedule secret token.
  '/api/v1/schedules/:id/ical',
  // The web UI (src/api/ui-routes.ts): static files and the pages the single-page app routes;
  // they hold no data, which the UI reads from the guarded API after logging in.
  '/',
  '/login',
  '/monitors/:id',
  '/incidents',
  '/incidents/:id',
  '/oncall',
  '/silences',
  '/maintenance',
  '/monitors/:id/edit',
  '/catalog',
  '/catalog/:id',
  '/runbooks',
  '/runbooks/:name',
  '/home',
  '/home/:role',
  '/assets/:file',
  '/favicon.svg',
  // The public status page and its summary and feeds (src/api/status-page-routes.ts): they show
  // only components the statusPage config makes public.
  '/status',
  '/status/api/summary.json',
  '/status/feed.rss',
  '/status/feed.atom',
  // Browser login trades an API token for a session cookie; logout must work with an expired one.
  // Both check the X-Keel-CSRF header themselves (src/api/session-routes.ts).
  '/api/v1/session',
  // One-time password setup links (src/api/user-routes.ts): the link's 256-bit token is the
  // credential, single use, 24 h. The setup page itself is a UI page like /login.
  '/setup',
  // The audit trail page; its data comes from the admin-only GET /api/v1/audit.
  '/audit',
  '/api/v1/setup',
  '/api/v1/setup/:token',
  // Which login methods exist, and the OpenID Connect redirect pair (src/api/oidc-routes.ts),
  // which a browser reaches before it has a session; state, nonce and PKCE protect the flow.
  '/api/v1/auth/methods',
  '/auth/oidc/login',
  '/auth/oidc/callback',
]

/** One registered route and who may call it. */
export interface RouteEntry {
  method: string
  url: string
  role: Role | 'public'
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>()

/** Every route registered on an app built with the guard, with its role, for tests and docs. */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? []
}

function declaredRole(route: RouteOptions): Role | 'public' {
  const declared = route.config?.role
  const methods = [route.method].flat().join('|')
  if (declared === undefined) {
    if (publicRoutes.includes(route.url)) return 'public'
    throw new Error(
      `route ${methods} ${route.url} declares no role: add config: { role: '${roles.join("' | '")}' } to its options`,
    )
  }
  if (declared === 'public') {
    if (publicRoutes.includes(route.url)) return 'public'
    throw new Error(
      `route ${methods} ${route.url} declares role 'public' but is not in publicRoutes (src/api/route-guard.ts); public routes are listed there on purpose`,
    )
  }
  if (!roles.includes(declared)) {
    throw new Error(
      `route ${methods} ${route.url} declares unknown role ${JSON.stringify(declared)}; use one of ${roles.join(', ')}`,
    )
  }
  return declared
}

/** The bearer token of a request, or undefined when the header is absent. */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match) {
    throw new AuthenticationError(
      'Authorization header must be "Bearer <token>"; other schemes are not supported',
    )
  }
  return match[1]
}

/**
 * Authenticates a request by its bearer token or, when it sends none, by its browser session
 * cookie (which also demands the CSRF header on non-GET requests).
 */
export async function authenticateRequest(
  deps: { db: Db; clock: Clock; sessions?: SessionStore },
  request: FastifyRequest,
): Promise<Actor> {
  const token = bearerToken(request)
  if (token === undefined && deps.sessions) {
    const actor = await authenticateSession({ ...deps, sessions: deps.sessions }, request)
    if (actor) return actor
  }
  return authenticateToken(deps, token, request.ip)
}

/**
 * Makes every route declare who may call it. Registering a route with no role that is not in
 * `publicRoutes` throws, so the server refuses to start rather than serve it unprotected; each
 * request is then authenticated and its role checked in one `onRequest` hook, before the body is
 * even read. Install it before any route is registered.
 */
export function installRouteGuard(
  app: FastifyInstance,
  deps: { db: Db; clock: Clock; sessions?: SessionStore },
): void {
  const table: RouteEntry[] = []
  tables.set(app, table)
  app.decorateRequest('actor', undefined)
  app.addHook('onRoute', (route) => {
    const role = declaredRole(route)
    route.config = { ...route.config, role }
    for (const method of [route.method].flat()) table.push({ method, url: route.url, role })
  })
  app.addHook('onRequest', async (request) => {
    const role = request.routeOptions.config.role
    if (role === 'public') return
    // Only the not-found handler has no role (onRoute gave every route one): let it answer 404.
    if (role === undefined && request.is404) return
    const actor = await authenticateRequest(deps, request)
    // Known before the role check, so a refusal is audited with who was refused.
    request.actor = actor
    requireRole(actor, role ?? 'admin')
  })
  // Refusals (403 anywhere, 401 for a presented credential) go to the audit trail, rate-limited;
  // onError hooks finish before the error handler answers.
  const limiter = new DenialLimiter()
  app.addHook('onError', async (request, _reply, error) => {
    await auditRefusal({ ...deps, limiter }, request, error)
  })
}

/** The authenticated caller of a guarded route. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) {
    throw new AuthenticationError('authentication required: send "Authorization: Bearer <token>"')
  }
  return request.actor
}

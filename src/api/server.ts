import type { CommandPolicy } from '../checks/command-policy.js'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Clock } from '../core/time.js'
import type { RunbookSettings } from '../services/runbooks.js'
import type { Db } from '../store/dialect.js'
import { activityRoutes } from './activity-routes.js'
import { alertingRoutes } from './alerting-routes.js'
import { auditRoutes } from './audit-routes.js'
import { installErrorHandling } from './errors.js'
import { eventsRoutes } from './events-routes.js'
import { heartbeatRoutes } from './heartbeat-routes.js'
import { incidentRoutes } from './incident-routes.js'
import { ingestRoutes, type IngestOptions } from './ingest-routes.js'
import { catalogRoutes } from './catalog-routes.js'
import { integrationRoutes } from './integration-routes.js'
import type { KeelMetrics } from './metrics.js'
import { monitorRoutes } from './monitor-routes.js'
import { oidcRoutes, type OidcSettings } from './oidc-routes.js'
import { oncallRoutes } from './oncall-routes.js'
import { openApiRoutes, registerOpenApi } from './openapi.js'
import { installRouteGuard } from './route-guard.js'
import { runbookRoutes } from './runbook-routes.js'
import { SessionStore, sessionRoutes } from './session-routes.js'
import { statusPageRoutes } from './status-page-routes.js'
import { statusRoutes } from './status-routes.js'
import { tokenRoutes } from './token-routes.js'
import { uiRoutes } from './ui-routes.js'
import { userRoutes } from './user-routes.js'

/** What the HTTP API needs from the running node. */
export interface ApiDeps {
  db: Db
  clock: Clock
  log: Logger
  metrics: KeelMetrics
  /** Keel's external URL, for links in notifications and the OpenAPI `servers`. */
  publicUrl?: string
  /** The largest request body accepted, in bytes (default 1 MiB). */
  bodyLimitBytes?: number
  /**
   * Fastify's `trustProxy` (keel.yaml `server.trustProxy`, addresses or CIDR blocks): off by
   * default, so the client address (login limit, audit `source`, ping `source`) is the socket's
   * and the protocol is the connection's. Only peers listed here have `X-Forwarded-For` and
   * `X-Forwarded-Proto` believed.
   */
  trustProxy?: boolean | string | string[]
  /** The ingest endpoints' options (PagerDuty rate limit). */
  ingest?: IngestOptions
  /**
   * Signs one-click acknowledge links and schedule feed tokens (`resolveSecretKey`); without it
   * those routes answer 404.
   */
  secretKey?: Uint8Array
  /** How long one-click links in notifications work (`escalation.ackLinkExpiry`; default 24 h). */
  ackLinkTtlMs?: number
  /** Called after a write, so the scheduler or dispatcher can pick it up at once. */
  onChange?: (what: 'monitors' | 'channels' | 'alerts') => void
  /** OpenID Connect login (keel.yaml `auth.oidc`); without it the OIDC routes answer 404. */
  oidc?: OidcSettings
  /** Runbook folders and live run output (keel.yaml `runbooks`); without it no runbooks are listed. */
  runbooks?: RunbookSettings
  /**
   * Where programs of monitors created through the API may live (keel.yaml
   * `checks.commandDirs`); without it the API refuses every monitor that runs a program.
   */
  commands?: CommandPolicy
}

/** The default request body limit: 1 MiB. */
export const defaultBodyLimitBytes = 1024 * 1024

/**
 * Builds the HTTP API (not yet listening): `/api/v1/**` behind bearer tokens and roles, the
 * public `/healthz` and heartbeat `/ping/**` routes, `/metrics`, `/api/openapi.json`, the web UI
 * with its cookie login (`/api/v1/session`) and its live event stream (`/api/v1/events`).
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const bodyLimitBytes = deps.bodyLimitBytes ?? defaultBodyLimitBytes
  const app = Fastify({
    // Typed as the base logger so the instance is the plain FastifyInstance route plugins take.
    loggerInstance: deps.log as FastifyBaseLogger,
    // Request URLs carry ping tokens; responses are logged below by route pattern instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bodyLimitBytes,
    trustProxy: deps.trustProxy ?? false,
    // HEAD is declared where it is wanted, so the route table lists exactly what is served.
    exposeHeadRoutes: false,
    // One-click links carry a signed token as a path parameter, longer than the default 100.
    routerOptions: { maxParamLength: 512 },
  })
  // Response schemas document the API; serializing with them would drop fields they leave out.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  installErrorHandling(app, { bodyLimitBytes })
  // Browser sessions live in the store, with a short per-node cache (see SessionStore).
  const sessions = new SessionStore(deps)
  installRouteGuard(app, { ...deps, sessions })
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        route: request.routeOptions.url ?? '(not found)',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request done',
    )
  })
  await registerOpenApi(app, deps.publicUrl ? { publicUrl: deps.publicUrl } : {})

  await app.register(statusRoutes, { deps })
  await app.register(statusPageRoutes, { deps })
  await app.register(openApiRoutes)
  await app.register(heartbeatRoutes, { deps })
  await app.register(ingestRoutes, { deps })
  await app.register(monitorRoutes, { deps, prefix: '/api/v1' })
  await app.register(activityRoutes, { deps, prefix: '/api/v1' })
  await app.register(incidentRoutes, { deps, prefix: '/api/v1' })
  await app.register(alertingRoutes, { deps, prefix: '/api/v1' })
  await app.register(tokenRoutes, { deps, prefix: '/api/v1' })
  await app.register(oncallRoutes, { deps })
  await app.register(integrationRoutes, { deps, prefix: '/api/v1' })
  await app.register(catalogRoutes, { deps, prefix: '/api/v1' })
  await app.register(sessionRoutes, { deps, sessions })
  await app.register(userRoutes, { deps, sessions })
  await app.register(auditRoutes, { deps, prefix: '/api/v1' })
  await app.register(runbookRoutes, {
    deps,
    prefix: '/api/v1',
    ...(deps.runbooks ? { settings: deps.runbooks } : {}),
  })
  await app.register(oidcRoutes, { deps, sessions })
  await app.register(eventsRoutes, { deps, sessions })
  await app.register(uiRoutes, {})
  await app.ready()
  return app
}

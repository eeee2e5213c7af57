import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'
import { activityRoutes } from './activity-routes.js'
import { installErrorHandling } from './errors.js'
import { heartbeatRoutes } from './heartbeat-routes.js'
import type { KeelMetrics } from './metrics.js'
import { monitorRoutes } from './monitor-routes.js'
import { openApiRoutes, registerOpenApi } from './openapi.js'
import { installRouteGuard } from './route-guard.js'
import { statusRoutes } from './status-routes.js'
import { tokenRoutes } from './token-routes.js'

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
   * Fastify's `trustProxy`: off by default, so the client address (audit `source`, ping
   * `source`) is the socket's. Set it to the proxy's address when Keel runs behind one.
   */
  trustProxy?: boolean | string | string[]
  /** Called after a write, so the scheduler or dispatcher can pick it up at once. */
  onChange?: (what: 'monitors' | 'channels') => void
}

/** The default request body limit: 1 MiB. */
export const defaultBodyLimitBytes = 1024 * 1024

/**
 * Builds the HTTP API (not yet listening): `/api/v1/**` behind bearer tokens and roles, the
 * public `/healthz` and heartbeat `/ping/**` routes, `/metrics` and `/api/openapi.json`.
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
  })
  // Response schemas document the API; serializing with them would drop fields they leave out.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  installErrorHandling(app, { bodyLimitBytes })
  installRouteGuard(app, deps)
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
  await app.register(openApiRoutes)
  await app.register(heartbeatRoutes, { deps })
  await app.register(monitorRoutes, { deps, prefix: '/api/v1' })
  await app.register(activityRoutes, { deps, prefix: '/api/v1' })
  await app.register(tokenRoutes, { deps, prefix: '/api/v1' })
  await app.ready()
  return app
}

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  defaultEventsPerMinute,
  ingestFormats,
  TokenBucketLimiter,
  type IngestFormat,
  type IngestReply,
  type IngestRoute,
  type RateLimiter,
} from '../ingest/index.js'
import { receiveIngest, type IngestResponse } from '../services/integrations.js'
import { errorResponse } from './errors.js'
import type { ApiDeps } from './server.js'

/** Options of the ingest endpoints. */
export interface IngestOptions {
  /** PagerDuty Events API events a minute per integration (default 120); 0 turns the limit off. */
  pagerDutyEventsPerMinute?: number
}

const tags = ['ingest']

function bearerKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
}

function render(format: IngestFormat, response: IngestResponse): IngestReply {
  switch (response.outcome) {
    case 'accepted':
      return format.accepted(response.accepted)
    case 'rejected':
      return format.rejected(response.issues)
    case 'refused':
      return format.refused(response.refusal)
  }
}

function send(reply: FastifyReply, rendered: IngestReply): FastifyReply {
  return reply.code(rendered.status).type('application/json; charset=utf-8').send(rendered.body)
}

/** What a body-parsing error means to a sender, in its own format, or undefined for a 5xx. */
function parseFailure(format: IngestFormat, error: FastifyError): IngestReply | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return format.refused({
        status: 413,
        name: 'PayloadTooLarge',
        message: `body is larger than ${format.bodyLimitBytes} bytes, the limit for ${format.name} requests; send fewer or smaller events per request`,
      })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return format.rejected([
        { path: 'body', message: 'body is empty; send a JSON document (see docs/ingest.md)' },
      ])
  }
  if (error instanceof SyntaxError) {
    return format.rejected([
      {
        path: 'body',
        message: `body is not valid JSON (${error.message}); send a JSON document`,
      },
    ])
  }
  if ((error.statusCode ?? 500) < 500) {
    return format.rejected([
      { path: 'body', message: `body could not be read (${error.message}); resend the request` },
    ])
  }
  return undefined
}

function routeSchema(format: IngestFormat, route: IngestRoute) {
  const keyNote =
    route.key === 'path'
      ? 'The `:key` path segment is the integration key.'
      : route.key === 'bearer'
        ? 'Send the integration key as `Authorization: Bearer <key>`.'
        : 'The `routing_key` field is the integration key.'
  return {
    summary: format.summary,
    description: `${format.description} ${keyNote} Limit: ${format.bodyLimitBytes} bytes per request.`,
    tags,
    ...(route.key === 'path'
      ? {
          params: {
            type: 'object',
            properties: { key: { type: 'string', description: 'The integration key.' } },
          },
        }
      : {}),
    response: {
      [format.accepted({ events: [] }).status]: {
        description: 'Every event is stored.',
        type: 'object',
      },
      400: { description: 'The body is invalid; each error names the field.', type: 'object' },
      401: { description: 'The integration key is missing or unknown.', type: 'object' },
      403: { description: 'The integration is disabled.', type: 'object' },
      404: { description: 'The key belongs to an integration of another kind.', type: 'object' },
      ...(format.rateLimited
        ? {
            429: { description: 'Over the rate limit; retry after `Retry-After`.', type: 'object' },
          }
        : {}),
    },
  }
}

/**
 * The sender endpoints, one per route of every format in `ingestFormats`: Alertmanager's webhook
 * and alerts API, PagerDuty's Events API v2 and Keel's generic JSON. They are public to the route
 * guard because each authenticates with an integration key (in the path, the Bearer header or
 * the body). Any content type is read as JSON, since senders and shell scripts label JSON loosely.
 */
export async function ingestRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  const perMinute = deps.ingest?.pagerDutyEventsPerMinute ?? defaultEventsPerMinute
  const limiter: RateLimiter | undefined =
    perMinute > 0 ? new TokenBucketLimiter(perMinute) : undefined
  const ingestDeps = {
    db: deps.db,
    clock: deps.clock,
    ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
    ...(limiter ? { limiter } : {}),
  }

  app.removeAllContentTypeParsers()
  // Prototype-poisoning keys are dropped rather than refused: they are never meaningful labels.
  const parseJson = app.getDefaultJsonParser('remove', 'remove')
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (error, value) => {
      if ((error as FastifyError | null)?.code !== 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return done(error, value)
      }
      // Fastify's error drops the position; JSON.parse says where the body went wrong.
      try {
        JSON.parse(body as string)
        done(error, undefined)
      } catch (syntax) {
        done(Object.assign(syntax as SyntaxError, { statusCode: 400 }), undefined)
      }
    })
  })

  for (const format of ingestFormats) {
    // One scope per format, so body errors are answered in the format's own shape.
    await app.register(async (scope) => {
      scope.setErrorHandler((error: FastifyError, request: FastifyRequest, reply) => {
        const failure = parseFailure(format, error)
        if (failure) return send(reply, failure)
        const response = errorResponse(error, { bodyLimitBytes: format.bodyLimitBytes })
        if (response.internal) {
          request.log.error(
            { err: error, method: request.method, route: request.routeOptions.url },
            'ingest request failed',
          )
        }
        return reply.code(response.status).send(response.body)
      })

      for (const route of format.routes) {
        scope.post(
          route.url,
          {
            bodyLimit: format.bodyLimitBytes,
            config: { role: 'public' },
            schema: routeSchema(format, route),
          },
          async (request, reply) => {
            if (route.key === 'bearer' && bearerKey(request.headers.authorization) === undefined) {
              reply.header('www-authenticate', 'Bearer')
              return send(
                reply,
                format.refused({
                  status: 401,
                  name: 'AuthenticationError',
                  message:
                    'send the integration key as "Authorization: Bearer <key>" (Prometheus: alerting.alertmanagers[].authorization.credentials)',
                }),
              )
            }
            const key =
              route.key === 'path'
                ? (request.params as { key: string }).key
                : route.key === 'bearer'
                  ? bearerKey(request.headers.authorization)
                  : format.keyInBody?.(request.body)
            const response = await receiveIngest(ingestDeps, format, key, request.body)
            // New alerts may have opened incidents or joined groups: page without a poll's wait.
            if (response.outcome === 'accepted') deps.onChange?.('alerts')
            if (response.outcome === 'refused') {
              request.log.info(
                { format: format.name, status: response.refusal.status },
                response.refusal.message,
              )
              if (response.refusal.retryAfterSeconds !== undefined) {
                reply.header('retry-after', String(response.refusal.retryAfterSeconds))
              }
            } else if (response.outcome === 'rejected') {
              request.log.warn(
                { format: format.name, issues: response.issues.slice(0, 5) },
                'ingest event rejected',
              )
            }
            return send(reply, render(format, response))
          },
        )
      }
    })
  }
}

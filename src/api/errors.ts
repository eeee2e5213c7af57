import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  AuthenticationError,
  ConflictError,
  InputError,
  KeelError,
  NotAllowedError,
  NotFoundError,
} from '../core/errors.js'

/** The body of every error response. */
export interface ErrorBody {
  error: { name: string; message: string; details?: unknown }
}

/** One problem with one field of a request, as listed in `details`. */
export interface FieldIssue {
  /** `body`, `querystring`, `params` or `headers`. */
  in: string
  path: string
  message: string
}

const statusOf: [new (...args: never[]) => KeelError, number][] = [
  [InputError, 400],
  [AuthenticationError, 401],
  [NotAllowedError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
]

interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** Turns fastify's schema validation errors into issues that name the field. */
function validationIssues(context: string, errors: readonly AjvIssue[]): FieldIssue[] {
  return errors.map((e) => {
    const segments = e.instancePath.split('/').filter((s) => s !== '')
    if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
      segments.push(e.params.missingProperty)
      return { in: context, path: segments.join('.'), message: 'is required' }
    }
    if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
      segments.push(e.params.additionalProperty)
      return { in: context, path: segments.join('.'), message: 'is not a known field; remove it' }
    }
    const allowed = Array.isArray(e.params.allowedValues)
      ? `: ${e.params.allowedValues.map(String).join(', ')}`
      : ''
    return {
      in: context,
      path: segments.join('.'),
      message: `${e.message ?? 'is invalid'}${allowed}`,
    }
  })
}

function describeIssue(issue: FieldIssue): string {
  const where = issue.in === 'querystring' ? 'query parameter' : `${issue.in} field`
  return issue.path === ''
    ? `${issue.in} ${issue.message}`
    : `${where} ${issue.path} ${issue.message}`
}

function body(name: string, message: string, details?: unknown): ErrorBody {
  return { error: { name, message, ...(details !== undefined ? { details } : {}) } }
}

/** The status and body for an error, and whether it is the server's fault (and so worth a log). */
export function errorResponse(
  error: unknown,
  limits: { bodyLimitBytes: number },
): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof KeelError) {
    const status = statusOf.find(([type]) => error instanceof type)?.[1]
    if (status !== undefined) {
      return { status, body: body(error.name, error.message, error.details), internal: false }
    }
  }
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string }
  if (Array.isArray(fastifyError.validation)) {
    const issues = validationIssues(
      fastifyError.validationContext ?? 'body',
      fastifyError.validation as AjvIssue[],
    )
    const message = issues.map(describeIssue).join('; ')
    return { status: 400, body: body('InputError', message, issues), internal: false }
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: body(
          'PayloadTooLarge',
          `request body is larger than the server's limit of ${limits.bodyLimitBytes} bytes; send a smaller body`,
        ),
        internal: false,
      }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: body(
          'InputError',
          'request body is empty but Content-Type is application/json; send a JSON object or drop the header',
        ),
        internal: false,
      }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: body(
          'UnsupportedMediaType',
          'request body has an unsupported Content-Type; send JSON with Content-Type: application/json',
        ),
        internal: false,
      }
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return {
      status: 400,
      body: body(
        'InputError',
        `request body is not valid JSON (${error.message}); send a JSON object`,
      ),
      internal: false,
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      body: body('InputError', fastifyError.message ?? 'bad request'),
      internal: false,
    }
  }
  return {
    status: typeof status === 'number' && status >= 500 && status < 600 ? status : 500,
    body: body('InternalError', 'internal server error; the server log has the details'),
    internal: true,
  }
}

/**
 * Installs the one error handler and the not-found handler: Keel errors map to their status,
 * schema and JSON errors to 400 naming the field, oversize bodies to 413, and anything else to a
 * 500 whose stack is logged once here and never sent to the client.
 */
export function installErrorHandling(
  app: FastifyInstance,
  limits: { bodyLimitBytes: number },
): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const response = errorResponse(error, limits)
    if (response.internal) {
      request.log.error(
        { err: error, method: request.method, route: request.routeOptions.url },
        'request failed',
      )
      response.body.error.message += ` (request ${request.id})`
    }
    return reply.code(response.status).type('application/json; charset=utf-8').send(response.body)
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        body(
          'NotFoundError',
          `no route ${request.method} ${request.url.split('?')[0]}; the API lives under /api/v1 (see /api/openapi.json)`,
        ),
      ),
  )
}

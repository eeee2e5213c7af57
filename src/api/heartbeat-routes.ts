import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { NotFoundError } from '../core/errors.js'
import {
  maxPingBodyBytes,
  recordHeartbeatPing,
  truncateUtf8,
  type PingInput,
} from '../services/heartbeats.js'
import type { ApiDeps } from './server.js'

const tags = ['heartbeats']

const methods = ['GET', 'POST', 'HEAD']

const textResponses = {
  200: { description: '`OK`: the ping is stored.', type: 'string' },
  400: { description: 'The exit status is not an integer 0–255.', type: 'string' },
  404: { description: '`not found`: no heartbeat monitor has this token.', type: 'string' },
} as const

/**
 * The ping body as text: at most `maxPingBodyBytes` of UTF-8, decoded lossily (invalid bytes
 * become U+FFFD) and without NUL characters, which PostgreSQL text columns refuse.
 */
export function pingBodyText(body: unknown): string | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined
  // Decode a few bytes past the limit so a character straddling it is dropped whole, not mangled.
  const text = body.subarray(0, maxPingBodyBytes + 3).toString('utf8')
  return truncateUtf8(text.replaceAll('\u0000', '\uFFFD'), maxPingBodyBytes)
}

/** Parses the `/<exit status>` segment: Healthchecks.io accepts 0–255, as a process exit code. */
export function parseExitStatus(text: string): number | undefined {
  return /^\d{1,3}$/.test(text) && Number(text) <= 255 ? Number(text) : undefined
}

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(body)
}

/**
 * Healthchecks.io-compatible heartbeat ping routes, without authentication (the token in the URL
 * is the credential). Any content type is accepted and read as text; a ping is stored before the
 * `OK` goes out, so an acknowledged ping survives a crash.
 */
export async function heartbeatRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  // Cron jobs post logs with whatever content type curl picks; none of them should be refused.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  const receive = async (request: FastifyRequest, reply: FastifyReply, input: PingInput) => {
    const params = request.params as { token: string }
    const body = pingBodyText(request.body)
    try {
      await recordHeartbeatPing(deps, params.token, {
        ...input,
        ...(body !== undefined ? { body } : {}),
        source: request.ip,
      })
    } catch (error) {
      if (error instanceof NotFoundError) return text(reply, 404, 'not found')
      throw error
    }
    return text(reply, 200, 'OK')
  }

  const tokenParam = {
    token: { type: 'string', description: 'The monitor’s ping token (from its pingPath).' },
  }

  app.route({
    method: methods,
    url: '/ping/:token',
    schema: {
      summary: 'Report a successful run',
      tags,
      params: { type: 'object', properties: tokenParam },
      response: textResponses,
    },
    handler: (request, reply) => receive(request, reply, { kind: 'success' }),
  })

  app.route({
    method: methods,
    url: '/ping/:token/start',
    schema: {
      summary: 'Report that a run started (its duration becomes the latency of the next ping)',
      tags,
      params: { type: 'object', properties: tokenParam },
      response: textResponses,
    },
    handler: (request, reply) => receive(request, reply, { kind: 'start' }),
  })

  app.route({
    method: methods,
    url: '/ping/:token/fail',
    schema: {
      summary: 'Report a failed run',
      tags,
      params: { type: 'object', properties: tokenParam },
      response: textResponses,
    },
    handler: (request, reply) => receive(request, reply, { kind: 'fail' }),
  })

  app.route({
    method: methods,
    url: '/ping/:token/:exitStatus',
    schema: {
      summary: 'Report a run’s exit status (0 is success, 1–255 failure)',
      tags,
      params: {
        type: 'object',
        properties: {
          ...tokenParam,
          exitStatus: { type: 'string', description: 'An integer 0–255.' },
        },
      },
      response: textResponses,
    },
    handler: (request, reply) => {
      const raw = (request.params as { exitStatus: string }).exitStatus
      const exitStatus = parseExitStatus(raw)
      if (exitStatus === undefined) {
        return text(
          reply,
          400,
          `exit status must be an integer from 0 to 255, got ${JSON.stringify(raw)}; ping /ping/<token>/<exit status>`,
        )
      }
      return receive(request, reply, { kind: 'exit', exitStatus })
    },
  })
}

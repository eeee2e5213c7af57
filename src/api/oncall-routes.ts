import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ConflictError, KeelError, NotFoundError } from '../core/errors.js'
import { ackLinkPrefix, verifyAckLink, type AckLinkClaims } from '../services/ack-links.js'
import { linkRecipientActor } from '../services/link-recipient.js'
import type { ServiceContext } from '../services/context.js'
import { acknowledgeIncident, parseIncidentId, resolveIncident } from '../services/incidents.js'
import {
  escalationView,
  listEscalationPolicies,
  onCallNow,
  readOncallConfig,
  scheduleFeedToken,
  scheduleFinalView,
  scheduleGapsView,
  scheduleICalFeed,
} from '../services/oncall.js'
import {
  createScheduleOverride,
  deleteScheduleOverride,
  listScheduleOverridesView,
} from '../services/schedule-overrides.js'
import { getIncident } from '../store/incidents.js'
import { parseInstant } from './query.js'
import type { ApiDeps } from './server.js'
import { errorSchema } from './error-schema.js'
import { serviceContext } from './service-context.js'

const dayMs = 86_400_000

const scheduleParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Schedule id.' } },
} as const

const rangeQuery = (defaultSpan: string) =>
  ({
    type: 'object',
    properties: {
      from: { type: 'string', description: 'ISO 8601 time or epoch ms; default now.' },
      to: { type: 'string', description: `ISO 8601 time or epoch ms; default ${defaultSpan}.` },
    },
  }) as const

const overrideSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    scheduleId: { type: 'string' },
    user: { type: 'string' },
    name: { type: 'string' },
    start: { type: 'integer', description: 'ms since the epoch' },
    end: { type: 'integer', description: 'ms since the epoch (exclusive)' },
    note: { type: 'string' },
    createdBy: { type: 'string' },
    createdAt: { type: 'integer' },
  },
} as const

const spanSchema = {
  type: 'object',
  properties: {
    start: { type: 'integer', description: 'ms since the epoch' },
    end: { type: 'integer', description: 'ms since the epoch (exclusive)' },
    user: { type: 'string', description: 'Absent in a gap.' },
    name: { type: 'string' },
    source: { type: 'string', enum: ['layer', 'override', 'gap'] },
    layer: { type: 'string' },
  },
} as const

/** What the one-click and calendar routes need besides the store. */
export interface OncallRouteOptions {
  deps: ApiDeps
}

function range(query: { from?: string; to?: string }, now: number, defaultSpanMs: number) {
  const from = parseInstant(query.from, 'from') ?? now
  const to = parseInstant(query.to, 'to') ?? from + defaultSpanMs
  return { from, to }
}

/**
 * On-call reads for viewers (who is on call, final schedules, gaps, escalation policies, an
 * incident's escalation), the calendar feed behind its secret token, and the one-click
 * acknowledge/resolve links sent in pages.
 */
export async function oncallRoutes(app: FastifyInstance, options: OncallRouteOptions) {
  const { deps } = options
  const read = { db: deps.db, clock: deps.clock }

  app.get<{ Querystring: { at?: string } }>(
    '/api/v1/oncall/now',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who is on call now in every schedule',
        tags: ['oncall'],
        querystring: {
          type: 'object',
          properties: { at: { type: 'string', description: 'Another instant; default now.' } },
        },
        response: {
          200: {
            description: 'One entry per schedule; `user` is absent where the schedule has a gap.',
            type: 'object',
            properties: {
              at: { type: 'integer' },
              schedules: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    schedule: { type: 'string' },
                    timeZone: { type: 'string' },
                    user: { type: 'string' },
                    name: { type: 'string' },
                    start: { type: 'integer' },
                    end: { type: 'integer' },
                    source: { type: 'string', enum: ['layer', 'override'] },
                    layer: { type: 'string' },
                    nextHandoff: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => onCallNow(read, parseInstant(request.query.at, 'at')),
  )

  app.get(
    '/api/v1/schedules',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every on-call schedule, with its calendar feed path',
        tags: ['oncall'],
        response: {
          200: {
            description: 'Schedules by id.',
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    timeZone: { type: 'string' },
                    team: { type: 'string', description: 'The team that owns it, if any.' },
                    layers: { type: 'array', items: { type: 'string' } },
                    users: {
                      type: 'array',
                      description:
                        'The users of its layers, first appearance first, for pickers (any user of keel.yaml may take an override).',
                      items: {
                        type: 'object',
                        properties: { id: { type: 'string' }, name: { type: 'string' } },
                      },
                    },
                    overrides: { type: 'integer' },
                    feedPath: {
                      type: 'string',
                      description:
                        'Secret iCalendar URL path (a token instead of a login, for calendar apps).',
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => {
      const config = await readOncallConfig(deps.db)
      return {
        items: Object.keys(config.schedules)
          .sort()
          .map((id) => {
            const schedule = config.schedules[id]
            const users = [...new Set(schedule?.layers.flatMap((layer) => layer.users) ?? [])]
            return {
              id,
              timeZone: schedule?.timeZone,
              ...(schedule?.team !== undefined ? { team: schedule.team } : {}),
              layers: schedule?.layers.map((layer) => layer.id) ?? [],
              users: users.map((user) => {
                const name = config.users[user]?.name
                return { id: user, ...(name !== undefined ? { name } : {}) }
              }),
              overrides: schedule?.overrides.length ?? 0,
              ...(deps.secretKey !== undefined
                ? {
                    feedPath: `/api/v1/schedules/${encodeURIComponent(id)}/ical?token=${scheduleFeedToken(deps.secretKey, id)}`,
                  }
                : {}),
            }
          }),
      }
    },
  )

  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/schedules/:id/final',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The final schedule over a range: layers, restrictions and overrides merged',
        tags: ['oncall'],
        params: scheduleParams,
        querystring: rangeQuery('7 days after from'),
        response: {
          200: {
            description: 'Spans that tile the range; gaps have no user. At most 366 days.',
            type: 'object',
            properties: {
              schedule: { type: 'string' },
              timeZone: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              spans: { type: 'array', items: spanSchema },
            },
          },
          400: { description: 'A bad or too long range.', ...errorSchema },
          404: { description: 'No such schedule.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { from, to } = range(request.query, deps.clock.now(), 7 * dayMs)
      return scheduleFinalView(read, request.params.id, from, to)
    },
  )

  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/schedules/:id/gaps',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'When nobody is on call in a schedule',
        tags: ['oncall'],
        params: scheduleParams,
        querystring: rangeQuery('28 days after from'),
        response: {
          200: {
            description: 'The uncovered ranges within the range.',
            type: 'object',
            properties: {
              schedule: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              gaps: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { start: { type: 'integer' }, end: { type: 'integer' } },
                },
              },
            },
          },
          400: { description: 'A bad or too long range.', ...errorSchema },
          404: { description: 'No such schedule.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { from, to } = range(request.query, deps.clock.now(), 28 * dayMs)
      return scheduleGapsView(read, request.params.id, from, to)
    },
  )

  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/schedules/:id/overrides',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Overrides made through the API, the CLI or the UI',
        description:
          'Those that end after `from` (default now) and start before `to` (default a year later), in the order they were made; a later one wins where two overlap. Overrides of keel.yaml are in the final schedule.',
        tags: ['oncall'],
        params: scheduleParams,
        querystring: rangeQuery('366 days after from'),
        response: {
          200: {
            description: 'The overrides.',
            type: 'object',
            properties: { items: { type: 'array', items: overrideSchema } },
          },
          404: { description: 'No such schedule.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { from, to } = range(request.query, deps.clock.now(), 366 * dayMs)
      return { items: await listScheduleOverridesView(read, request.params.id, { from, to }) }
    },
  )

  app.post<{ Params: { id: string }; Body: unknown }>(
    '/api/v1/schedules/:id/overrides',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Put someone on call for a while ("I take Saturday")',
        description:
          'Body `{ user, start, end, note? }`: `user` is a user id of keel.yaml, `start` and `end` ISO 8601 times with an offset or epoch ms. The override sits above every layer and every override of keel.yaml, pages included. A team-scoped operator may override only schedules whose `team` is theirs.',
        tags: ['oncall'],
        params: scheduleParams,
        body: { type: 'object' },
        response: {
          201: { description: 'The override.', ...overrideSchema },
          400: { description: 'The body is invalid; the message names the field.', ...errorSchema },
          403: { description: 'The schedule belongs to another team.', ...errorSchema },
          404: { description: 'No such schedule.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      const override = await createScheduleOverride(
        serviceContext(deps, request),
        request.params.id,
        request.body,
      )
      return reply.code(201).send(override)
    },
  )

  app.delete<{ Params: { id: string; overrideId: string } }>(
    '/api/v1/schedules/:id/overrides/:overrideId',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Remove an override made through the API',
        tags: ['oncall'],
        params: {
          type: 'object',
          required: ['id', 'overrideId'],
          properties: { id: { type: 'string' }, overrideId: { type: 'string' } },
        },
        response: {
          204: { description: 'Removed.', type: 'null' },
          403: { description: 'The schedule belongs to another team.', ...errorSchema },
          404: { description: 'No such schedule or override.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      await deleteScheduleOverride(
        serviceContext(deps, request),
        request.params.id,
        request.params.overrideId,
      )
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string }; Querystring: { token?: string } }>(
    '/api/v1/schedules/:id/ical',
    {
      config: { role: 'public' },
      schema: {
        summary: 'A schedule as an iCalendar feed (secret URL, for calendar apps)',
        description:
          'Authenticated by the `token` in the URL (see `feedPath` in GET /api/v1/schedules), since calendar apps cannot send a bearer token. Shifts from 7 days back to 60 days ahead, in UTC.',
        tags: ['oncall'],
        params: scheduleParams,
        querystring: {
          type: 'object',
          properties: { token: { type: 'string', description: 'The schedule’s feed token.' } },
        },
        response: {
          200: { description: 'text/calendar', type: 'string' },
          404: {
            description: 'No feed at this URL (unknown schedule or wrong token).',
            ...errorSchema,
          },
        },
      },
    },
    async (request, reply) => {
      if (deps.secretKey === undefined) {
        throw new NotFoundError('calendar feeds are not enabled on this node (no secret key)')
      }
      const text = await scheduleICalFeed(
        read,
        deps.secretKey,
        request.params.id,
        request.query.token ?? '',
      )
      return reply
        .type('text/calendar; charset=utf-8')
        .header('cache-control', 'private, max-age=300')
        .send(text)
    },
  )

  app.get(
    '/api/v1/escalation-policies',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every escalation policy, with its timing if nobody acknowledges',
        tags: ['oncall'],
        response: {
          200: {
            description: 'Policies by id; delays in ms.',
            type: 'object',
            properties: {
              items: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
        },
      },
    },
    async () => ({ items: await listEscalationPolicies(read) }),
  )

  app.get<{ Params: { id: string } }>(
    '/api/v1/incidents/:id/escalation',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'An incident’s escalation: its policy, round, status and every step',
        tags: ['oncall'],
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', description: 'Incident number.' } },
        },
        response: {
          200: {
            description: 'The escalation and its steps, oldest first.',
            type: 'object',
            additionalProperties: true,
          },
          404: { description: 'No such incident, or it never escalated.', ...errorSchema },
        },
      },
    },
    async (request) => escalationView(read, parseIncidentId(request.params.id)),
  )

  await app.register(ackLinkRoutes, { deps })
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Keel</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.6rem 1.4rem;cursor:pointer}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
  return (
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      // The token in the URL is a credential: keep it out of caches and other sites' logs.
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      )
      .send(html)
  )
}

const verbs = { ack: 'Acknowledge', resolve: 'Resolve' } as const

/**
 * `GET /a/<token>` shows what the link will do and a button; only `POST` does it, so a mail
 * scanner or chat unfurler that fetches the link does not acknowledge anything.
 */
async function ackLinkRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  // The confirmation page posts an HTML form; its body is not needed (the token is in the path).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  )

  const tokenParams = {
    type: 'object',
    required: ['token'],
    properties: { token: { type: 'string', description: 'The signed link token.' } },
  } as const
  const htmlResponses = {
    200: { description: 'An HTML page saying what happened.', type: 'string' },
    400: { description: 'The link is malformed or was not signed by this Keel.', type: 'string' },
    404: { description: 'The incident does not exist.', type: 'string' },
    409: { description: 'The incident is already acknowledged or resolved.', type: 'string' },
    403: {
      description: 'The user the link was sent to is disabled or gone, or its channel was deleted.',
      type: 'string',
    },
    410: { description: 'The link has expired.', type: 'string' },
  } as const

  const verified = (
    request: FastifyRequest<{ Params: { token: string } }>,
    reply: FastifyReply,
  ): AckLinkClaims | FastifyReply => {
    if (deps.secretKey === undefined) {
      return page(
        reply,
        404,
        'Link not enabled',
        '<p>One-click links are not enabled on this Keel node.</p>',
      )
    }
    const result = verifyAckLink(request.params.token, deps.secretKey, deps.clock.now())
    if (result.ok) return result.claims
    const status = result.reason === 'expired' ? 410 : 400
    return page(
      reply,
      status,
      result.reason === 'expired' ? 'Link expired' : 'Invalid link',
      `<p>${escapeHtml(result.message)}</p>`,
    )
  }

  app.get<{ Params: { token: string } }>(
    `${ackLinkPrefix}:token`,
    {
      config: { role: 'public' },
      schema: {
        summary: 'Confirmation page of a one-click acknowledge/resolve link',
        description:
          'The signed token is the credential; nothing changes until the form is posted.',
        tags: ['oncall'],
        params: tokenParams,
        response: htmlResponses,
      },
    },
    async (request, reply) => {
      const claims = verified(request, reply)
      if (!('incidentId' in claims)) return claims
      const recipient = await linkRecipientActor(deps.db, claims.user)
      if (!recipient.ok) {
        return page(reply, 403, 'Link no longer valid', `<p>${escapeHtml(recipient.message)}</p>`)
      }
      const incident = await getIncident(deps.db, claims.incidentId)
      if (incident === undefined) {
        return page(
          reply,
          404,
          'Incident not found',
          `<p>Incident #${claims.incidentId} does not exist.</p>`,
        )
      }
      const verb = verbs[claims.action]
      return page(
        reply,
        200,
        `${verb} incident #${incident.id}?`,
        `<p><strong>${escapeHtml(incident.title)}</strong><br>${escapeHtml(incident.severity)}, ${escapeHtml(incident.status)}</p>
<form method="post"><button type="submit">${verb} as ${escapeHtml(claims.user)}</button></form>`,
      )
    },
  )

  app.post<{ Params: { token: string } }>(
    `${ackLinkPrefix}:token`,
    {
      config: { role: 'public' },
      schema: {
        summary: 'Acknowledge or resolve through a one-click link',
        description:
          'Performs the action the signed link names, as the user it was sent to. Links are not single-use: repeating an acknowledgement is answered 409 and changes nothing.',
        tags: ['oncall'],
        params: tokenParams,
        response: htmlResponses,
      },
    },
    async (request, reply) => {
      const claims = verified(request, reply)
      if (!('incidentId' in claims)) return claims
      // The link acts only for the person (or channel) it was sent to, and only while they may.
      const recipient = await linkRecipientActor(deps.db, claims.user, request.ip)
      if (!recipient.ok) {
        return page(reply, 403, 'Link no longer valid', `<p>${escapeHtml(recipient.message)}</p>`)
      }
      const ctx: ServiceContext = { db: deps.db, clock: deps.clock, actor: recipient.actor }
      try {
        const incident =
          claims.action === 'ack'
            ? await acknowledgeIncident(ctx, claims.incidentId)
            : await resolveIncident(ctx, claims.incidentId, {
                reason: 'resolved from a paging link',
              })
        const done = claims.action === 'ack' ? 'acknowledged' : 'resolved'
        return page(
          reply,
          200,
          `Incident #${incident.id} ${done}`,
          `<p><strong>${escapeHtml(incident.title)}</strong> is ${done} by ${escapeHtml(claims.user)}.${claims.action === 'ack' ? ' Paging has stopped.' : ''}</p>`,
        )
      } catch (error) {
        if (error instanceof ConflictError || error instanceof NotFoundError) {
          const status = error instanceof ConflictError ? 409 : 404
          return page(reply, status, 'Nothing to do', `<p>${escapeHtml(error.message)}</p>`)
        }
        if (error instanceof KeelError) {
          return page(reply, 400, 'Not done', `<p>${escapeHtml(error.message)}</p>`)
        }
        throw error
      }
    },
  )
}

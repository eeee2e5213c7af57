import type { FastifyInstance } from 'fastify'
import { reviewSuppression } from '../engine/noise.js'
import {
  createMaintenance,
  createSilence,
  createSilenceForAlert,
  deleteMaintenance,
  expireSilenceById,
  listMaintenanceWindows,
  listSilenceViews,
  type CreateSilenceInput,
} from '../services/alerting.js'
import type { ApiDeps } from './server.js'
import { errorSchema } from './error-schema.js'
import { serviceContext } from './service-context.js'

const tags = ['silences and maintenance']

const silenceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    matchers: { type: 'array', items: { type: 'string' } },
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    comment: { type: 'string' },
    createdBy: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'active', 'expired'] },
    recurrence: {
      type: 'object',
      properties: {
        days: { type: 'array', items: { type: 'string' } },
        from: { type: 'string' },
        to: { type: 'string' },
        timeZone: { type: 'string' },
        until: { type: 'integer' },
      },
    },
  },
} as const

const maintenanceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    matchers: { type: 'array', items: { type: 'string' } },
    timeZone: { type: 'string' },
    oneOff: {
      type: 'object',
      properties: { start: { type: 'string' }, end: { type: 'string' } },
    },
    recurring: {
      type: 'object',
      properties: {
        days: { type: 'array', items: { type: 'string' } },
        from: { type: 'string' },
        to: { type: 'string' },
      },
    },
    state: { type: 'string', enum: ['scheduled', 'active', 'completed'] },
    source: { type: 'string', enum: ['config', 'api'] },
    public: { type: 'boolean' },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' } },
} as const

/**
 * Silences and maintenance windows under `/api/v1`. Reads are for viewers; making, expiring
 * and deleting them is for operators. After a change the firing alerts are judged again at
 * once, so a new silence mutes (and an expired one releases) without waiting for the timer.
 */
export async function alertingRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  const review = async () => {
    await reviewSuppression(deps.db, deps.clock.now())
    deps.onChange?.('alerts')
  }

  app.get<{ Querystring: { state?: 'pending' | 'active' | 'expired' } }>(
    '/silences',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Silences, newest first',
        tags,
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: ['pending', 'active', 'expired'] } },
        },
        response: {
          200: {
            type: 'object',
            properties: { silences: { type: 'array', items: silenceSchema } },
          },
        },
      },
    },
    async (request) => ({
      silences: await listSilenceViews(deps, {
        ...(request.query.state ? { state: request.query.state } : {}),
      }),
    }),
  )

  app.post<{ Body: CreateSilenceInput }>(
    '/silences',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Create a silence',
        description:
          'Mutes alerts matching every matcher from `startsAt` (default now) to `endsAt`, or for `duration` (default 2h); with `recurrence` only inside its weekly windows.',
        tags,
        body: { type: 'object' },
        response: {
          201: { description: 'The silence.', ...silenceSchema },
          400: { description: 'The body is invalid; the message names the field.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      const silence = await createSilence(serviceContext(deps, request), request.body)
      await review()
      return reply.code(201).send(silence)
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/silences/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Expire a silence now',
        tags,
        params: idParams,
        response: {
          200: { description: 'The expired silence.', ...silenceSchema },
          404: { description: 'No silence has this id.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const silence = await expireSilenceById(serviceContext(deps, request), request.params.id)
      await review()
      return silence
    },
  )

  app.post<{ Params: { fingerprint: string }; Body: { duration?: string; comment?: string } }>(
    '/alerts/:fingerprint/silence',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Silence one alert in one click',
        description: "A silence matching exactly the alert's labels, for `duration` (default 2h).",
        tags,
        params: {
          type: 'object',
          required: ['fingerprint'],
          properties: { fingerprint: { type: 'string' } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { duration: { type: 'string' }, comment: { type: 'string' } },
        },
        response: {
          201: { description: 'The silence.', ...silenceSchema },
          404: { description: 'No alert has this fingerprint.', ...errorSchema },
        },
      },
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request, reply) => {
      const silence = await createSilenceForAlert(
        serviceContext(deps, request),
        request.params.fingerprint,
        request.body,
      )
      await review()
      return reply.code(201).send(silence)
    },
  )

  app.get(
    '/maintenance',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Maintenance windows (keel.yaml and API)',
        tags,
        response: {
          200: {
            type: 'object',
            properties: { windows: { type: 'array', items: maintenanceSchema } },
          },
        },
      },
    },
    async () => ({ windows: await listMaintenanceWindows(deps.db, deps.clock.now()) }),
  )

  app.post<{ Body: Parameters<typeof createMaintenance>[1] }>(
    '/maintenance',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Create a maintenance window',
        description:
          'One-off (`oneOff.start`/`oneOff.end`), weekly (`recurring.days`/`from`/`to` in `timeZone`), or both; matching alerts are muted while it is in effect.',
        tags,
        body: { type: 'object' },
        response: {
          201: { description: 'The window.', ...maintenanceSchema },
          400: { description: 'The body is invalid; the message names the field.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      const window = await createMaintenance(serviceContext(deps, request), request.body)
      await review()
      return reply.code(201).send(window)
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/maintenance/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Delete a maintenance window made through the API',
        tags,
        params: idParams,
        response: {
          204: { description: 'Deleted.', type: 'null' },
          400: { description: 'The window comes from keel.yaml.', ...errorSchema },
          404: { description: 'No window has this id.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      await deleteMaintenance(serviceContext(deps, request), request.params.id)
      await review()
      return reply.code(204).send()
    },
  )
}

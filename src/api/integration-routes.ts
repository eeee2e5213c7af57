import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  createIntegration,
  deleteIntegration,
  getIntegrationView,
  listIntegrationEvents,
  listIntegrations,
  rotateIntegrationKey,
  updateIntegration,
} from '../services/integrations.js'
import { integrationKinds } from '../store/integrations.js'
import { beforeSchema, limitSchema, pageOf, pageSchema, parseIdCursor } from './query.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'

const tags = ['integrations']

const labelsSchema = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: 'Labels added to every alert the integration receives (the sender’s labels win).',
} as const

const publicStatusSchema = {
  type: 'boolean',
  description:
    'Whether alerts it delivers may put incidents on the public status page; false by default.',
} as const

const integrationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: integrationKinds },
    name: { type: 'string' },
    labels: labelsSchema,
    disabled: { type: 'boolean' },
    publicStatus: { type: 'boolean' },
    createdAt: { type: 'integer', description: 'ms since the epoch' },
    updatedAt: { type: 'integer', description: 'ms since the epoch' },
    endpoints: {
      type: 'array',
      description: 'Where senders post; `<key>` stands for the key except in create and rotate.',
      items: {
        type: 'object',
        properties: {
          format: { type: 'string' },
          summary: { type: 'string' },
          url: { type: 'string' },
          key: { type: 'string', enum: ['path', 'bearer', 'body'] },
        },
      },
    },
  },
} as const

const withKeySchema = {
  ...integrationSchema,
  properties: {
    ...integrationSchema.properties,
    key: { type: 'string', description: 'The integration key: shown only here, store it now.' },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Integration id (slug).' } },
} as const

const notFound = { description: 'No integration has this id.', type: 'object' } as const

/**
 * `/api/v1/integrations`: operators create the endpoints external senders post to (each with its
 * own key, shown once), list, change, re-key and delete them, and read what each received.
 */
export async function integrationRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  const ctx = (request: FastifyRequest) => ({
    db: deps.db,
    clock: deps.clock,
    actor: actorOf(request),
    ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
  })

  app.post(
    '/integrations',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create an integration (an ingest endpoint with its own key)',
        tags,
        body: {
          type: 'object',
          required: ['id', 'kind'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'A slug: `prometheus-prod`, `zabbix`.' },
            kind: { type: 'string', enum: integrationKinds },
            name: { type: 'string' },
            labels: labelsSchema,
            publicStatus: publicStatusSchema,
          },
        },
        response: {
          201: { description: 'The integration and its key (shown only here).', ...withKeySchema },
          409: { description: 'An integration with this id exists.', type: 'object' },
        },
      },
    },
    async (request, reply) => {
      const created = await createIntegration(ctx(request), request.body)
      return reply.code(201).send({ ...created.integration, key: created.key })
    },
  )

  app.get(
    '/integrations',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'List integrations',
        tags,
        response: { 200: pageSchema('Every integration, by id.', integrationSchema) },
      },
    },
    async (request) => ({ items: await listIntegrations(ctx(request)) }),
  )

  app.get<{ Params: { id: string } }>(
    '/integrations/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'One integration',
        tags,
        params: idParams,
        response: { 200: { description: 'The integration.', ...integrationSchema }, 404: notFound },
      },
    },
    async (request) => getIntegrationView(ctx(request), request.params.id),
  )

  app.patch<{ Params: { id: string } }>(
    '/integrations/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Rename, relabel, disable or enable an integration',
        tags,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            labels: labelsSchema,
            disabled: { type: 'boolean', description: 'A disabled integration answers 403.' },
            publicStatus: publicStatusSchema,
          },
        },
        response: { 200: { description: 'The integration.', ...integrationSchema }, 404: notFound },
      },
    },
    async (request) => updateIntegration(ctx(request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string } }>(
    '/integrations/:id/rotate-key',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Give an integration a new key; the old one stops working at once',
        tags,
        params: idParams,
        response: {
          200: { description: 'The integration and its new key.', ...withKeySchema },
          404: notFound,
        },
      },
    },
    async (request) => {
      const rotated = await rotateIntegrationKey(ctx(request), request.params.id)
      return { ...rotated.integration, key: rotated.key }
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/integrations/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete an integration and its inbox (its alerts stay)',
        tags,
        params: idParams,
        response: { 204: { description: 'Deleted.', type: 'null' }, 404: notFound },
      },
    },
    async (request, reply) => {
      await deleteIntegration(ctx(request), request.params.id)
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string }; Querystring: { before?: string; limit: number } }>(
    '/integrations/:id/events',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Events an integration received, newest first',
        description:
          'The durable inbox: each accepted event as received (without the key), its fingerprint, dedup key and what it did (`opened`, `updated`, `resolved`, `acknowledged`, `dropped`, …).',
        tags,
        params: idParams,
        querystring: {
          type: 'object',
          properties: { before: beforeSchema, limit: limitSchema },
        },
        response: { 200: pageSchema('A page of received events.'), 404: notFound },
      },
    },
    async (request) => {
      const { limit } = request.query
      const beforeId = parseIdCursor(request.query.before, 'before')
      const rows = await listIntegrationEvents(ctx(request), request.params.id, {
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit: limit + 1,
      })
      return pageOf(rows, limit, (last) => String(last.id))
    },
  )
}

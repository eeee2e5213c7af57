import type { FastifyInstance, FastifyRequest } from 'fastify'
import { entityKinds, type EntityKind } from '../core/catalog/index.js'
import {
  catalogDiagram,
  catalogImpact,
  createCatalogEntity,
  deleteCatalogEntity,
  getCatalogEntity,
  listCatalog,
  maxDiagramDepth,
  updateCatalogEntity,
} from '../services/catalog.js'
import { limitSchema, pageOf, pageSchema } from './query.js'
import type { ApiDeps } from './server.js'
import { serviceContext } from './service-context.js'

const tags = ['catalog']

const healthEnum = ['up', 'degraded', 'down', 'unknown', 'maintenance'] as const

const entitySpecJsonSchema = {
  type: 'object',
  required: ['kind'],
  description:
    'An entity spec, as under `catalog.entities.<id>` in keel.yaml (docs/catalog.md); validated field by field.',
  properties: {
    kind: { type: 'string', enum: entityKinds },
    name: { type: 'string' },
    description: { type: 'string' },
    owner: { type: 'string', description: 'Owning team id.' },
    tier: { type: 'integer', minimum: 1, maximum: 4 },
    lifecycle: { type: 'string' },
    system: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    links: {
      type: 'array',
      items: {
        type: 'object',
        properties: { title: { type: 'string' }, url: { type: 'string' } },
      },
    },
    dependsOn: { type: 'array', items: { type: 'string' } },
    runbooks: { type: 'array', items: { type: 'string' } },
  },
} as const

const entityViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    ...entitySpecJsonSchema.properties,
    source: { type: 'string', description: '`file:<path>`, `api` or `import:<file>`.' },
    editable: { type: 'boolean', description: 'False when a config file defines the entity.' },
    health: { type: 'string', enum: healthEnum },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Entity id (slug).' } },
} as const

const notFound = { description: 'No entity has this id.', type: 'object' } as const

const depthQuery = {
  type: 'object',
  properties: {
    depth: {
      type: 'integer',
      minimum: 1,
      maximum: maxDiagramDepth,
      default: 2,
      description: 'Links to follow upstream and downstream.',
    },
  },
} as const

/**
 * `/api/v1/catalog`: the service catalog. Anyone signed in reads entities, their impact and
 * their live diagram (SVG or Mermaid); operators create, change and delete the entities made over
 * the API (config-defined ones answer 409: change them in their file).
 */
export async function catalogRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  const ctx = (request: FastifyRequest) => serviceContext(deps, request)

  app.get<{
    Querystring: {
      kind?: EntityKind
      owner?: string
      lifecycle?: string
      tier?: number
      system?: string
      q?: string
      after?: string
      limit: number
    }
  }>(
    '/catalog',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List catalog entities with their health',
        tags,
        querystring: {
          type: 'object',
          properties: {
            kind: { type: 'string', enum: entityKinds },
            owner: { type: 'string' },
            lifecycle: { type: 'string' },
            tier: { type: 'integer', minimum: 1, maximum: 4 },
            system: { type: 'string' },
            q: { type: 'string', description: 'Part of the id or name, any case.' },
            after: { type: 'string', description: 'Cursor: the `next` of the previous page.' },
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('A page of entities ordered by id.', entityViewSchema) },
      },
    },
    async (request) => {
      const { limit, q, after, ...filters } = request.query
      const rows = await listCatalog(ctx(request), {
        ...filters,
        ...(q !== undefined ? { search: q } : {}),
        ...(after !== undefined ? { afterId: after } : {}),
        limit: limit + 1,
      })
      return pageOf(rows, limit, (last) => last.id)
    },
  )

  app.post<{ Body: { id: string } & Record<string, unknown> }>(
    '/catalog',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Create a catalog entity (editable over the API)',
        tags,
        body: {
          ...entitySpecJsonSchema,
          required: ['id', 'kind'],
          properties: { id: { type: 'string' }, ...entitySpecJsonSchema.properties },
        },
        response: {
          201: { description: 'The entity.', ...entityViewSchema },
          400: {
            description: 'A field is invalid, a reference unknown, or a cycle.',
            type: 'object',
          },
          409: { description: 'An entity with this id exists.', type: 'object' },
        },
      },
    },
    async (request, reply) => {
      const { id, ...spec } = request.body
      return reply.code(201).send(await createCatalogEntity(ctx(request), id, spec))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/catalog/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One entity with its monitors, dependencies and dependents',
        tags,
        params: idParams,
        response: { 200: { description: 'The entity.', ...entityViewSchema }, 404: notFound },
      },
    },
    async (request) => getCatalogEntity(ctx(request), request.params.id),
  )

  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/catalog/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Replace an API-made entity’s spec',
        tags,
        params: idParams,
        body: entitySpecJsonSchema,
        response: {
          200: { description: 'The entity.', ...entityViewSchema },
          404: notFound,
          409: { description: 'A config file defines this entity.', type: 'object' },
        },
      },
    },
    async (request) => updateCatalogEntity(ctx(request), request.params.id, request.body),
  )

  app.delete<{ Params: { id: string } }>(
    '/catalog/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Delete an API-made entity nothing depends on',
        tags,
        params: idParams,
        response: {
          204: { description: 'Deleted.', type: 'null' },
          404: notFound,
          409: { description: 'Others depend on it, or a config file defines it.', type: 'object' },
        },
      },
    },
    async (request, reply) => {
      await deleteCatalogEntity(ctx(request), request.params.id)
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string } }>(
    '/catalog/:id/impact',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'What is affected if this entity is down',
        description:
          'Every entity that depends on it, directly or through others, nearest first, with the dependency path.',
        tags,
        params: idParams,
        response: {
          200: {
            description: 'The affected entities.',
            type: 'object',
            properties: {
              entity: { type: 'string' },
              affected: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    kind: { type: 'string' },
                    health: { type: 'string', enum: healthEnum },
                    depth: { type: 'integer' },
                    path: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          404: notFound,
        },
      },
    },
    async (request) => catalogImpact(ctx(request), request.params.id),
  )

  for (const [suffix, format, type] of [
    ['svg', 'svg', 'image/svg+xml; charset=utf-8'],
    ['mmd', 'mermaid', 'text/plain; charset=utf-8'],
  ] as const) {
    app.get<{ Params: { id: string }; Querystring: { depth: number } }>(
      `/catalog/:id/diagram.${suffix}`,
      {
        config: { role: 'viewer' },
        schema: {
          summary:
            format === 'svg'
              ? 'The entity’s neighbourhood as an SVG diagram coloured by health'
              : 'The entity’s neighbourhood as Mermaid flowchart text',
          tags,
          params: idParams,
          querystring: depthQuery,
          response: {
            200: { description: `The diagram (${type}).`, type: 'string' },
            404: notFound,
          },
        },
      },
      async (request, reply) => {
        const body = await catalogDiagram(ctx(request), request.params.id, {
          depth: request.query.depth,
          format,
        })
        // Health changes by the second: a cached diagram would show yesterday's outage.
        return reply.type(type).header('cache-control', 'no-store').send(body)
      },
    )
  }
}

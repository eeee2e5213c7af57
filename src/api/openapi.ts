import swagger from '@fastify/swagger'
import type { FastifyInstance, FastifySchema } from 'fastify'

/** The `info.version` of the document; bump it when a route's contract changes. */
export const apiVersion = '1.0.0'

/**
 * Registers @fastify/swagger so every route after it lands in the OpenAPI document, marking each
 * operation with the role it needs (public routes get an empty `security`). Register it after the
 * route guard, whose `onRoute` hook fills in `config.role`, and before the routes.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  options: { publicUrl?: string } = {},
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Keel',
        version: apiVersion,
        description:
          'Monitors, alerts and notifications. Send `Authorization: Bearer <token>`; each operation names the weakest role that may call it.',
      },
      ...(options.publicUrl ? { servers: [{ url: options.publicUrl }] } : {}),
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      const role = route.config?.role
      const base: FastifySchema & { description?: string; security?: unknown } = { ...schema }
      if (role === 'public') return { schema: { ...base, security: [] }, url }
      const needs = `Requires role \`${role ?? 'admin'}\` or higher.`
      return {
        schema: { ...base, description: base.description ? `${base.description} ${needs}` : needs },
        url,
      }
    },
  })
}

/** `GET /api/openapi.json`: the document of every route, for clients and the docs. */
export async function openApiRoutes(app: FastifyInstance) {
  app.get(
    '/api/openapi.json',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'This API as an OpenAPI 3 document',
        tags: ['status'],
        response: { 200: { description: 'The OpenAPI document.', type: 'object' } },
      },
    },
    async () => app.swagger(),
  )
}

import type { FastifyInstance } from 'fastify'
import { createApiToken, roles } from '../services/auth.js'
import type { Role } from '../store/auth.js'
import { parseInstant } from './query.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'

/** `POST /api/v1/tokens`: admins mint API tokens; the secret is in this response only. */
export async function tokenRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.post<{ Body: { name: string; role: Role; expiresAt?: string } }>(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create an API token',
        tags: ['tokens'],
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: roles },
            expiresAt: { type: 'string', description: 'ISO 8601 time; omit for no expiry.' },
          },
        },
        response: {
          201: {
            description: 'The token; `token` is shown only here, store it now.',
            type: 'object',
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              role: { type: 'string', enum: roles },
              token: { type: 'string' },
              expiresAt: { type: 'integer', description: 'ms since the epoch' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const expiresAt = parseInstant(request.body.expiresAt, 'expiresAt')
      const created = await createApiToken(deps, {
        name: request.body.name,
        role: request.body.role,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        actor: actor.name,
      })
      return reply.code(201).send(created)
    },
  )
}

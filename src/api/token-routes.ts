import type { FastifyInstance } from 'fastify'
import { createApiToken, listTokens, revokeToken, roles } from '../services/auth.js'
import type { Role } from '../store/auth.js'
import { personOf } from '../services/context.js'
import { parseInstant } from './query.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: roles },
    team: { type: 'string', description: 'The one team whose objects the token may change.' },
    owner: {
      type: 'string',
      description:
        'The person the token acts for: user:<id> (the token stops working while that user is disabled), cli:<os user>, token:<name> or system. Absent on tokens made before owners were recorded.',
    },
    createdAt: { type: 'integer' },
    expiresAt: { type: 'integer', description: 'ms since the epoch' },
    lastUsedAt: { type: 'integer', description: 'recorded at most once a minute' },
    revokedAt: { type: 'integer' },
  },
} as const

/** `/api/v1/tokens`: admins mint, list and revoke API tokens; a secret is shown once only. */
export async function tokenRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.post<{ Body: { name: string; role: Role; team?: string; expiresAt?: string } }>(
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
            team: {
              type: 'string',
              maxLength: 63,
              description: 'Scope the token to one team: it may change only objects of that team.',
            },
            expiresAt: { type: 'string', description: 'ISO 8601 time; omit for no expiry.' },
          },
        },
        response: {
          201: {
            description: 'The token; `token` is shown only here, store it now.',
            type: 'object',
            properties: { ...tokenSchema.properties, token: { type: 'string' } },
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
        ...(request.body.team !== undefined ? { team: request.body.team } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        // The token acts for whoever made it, so it cannot be the second person of a rule.
        owner: personOf(actor),
        actor: actor.name,
        ...(actor.source ? { source: actor.source } : {}),
      })
      return reply.code(201).send(created)
    },
  )

  app.get(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'API tokens (never their secrets), newest first',
        tags: ['tokens'],
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: tokenSchema } } },
        },
      },
    },
    async () => ({ items: await listTokens(deps) }),
  )

  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke an API token (its browser sessions end too)',
        tags: ['tokens'],
        response: { 204: { description: 'Revoked.', type: 'null' } },
      },
    },
    async (request, reply) => {
      await revokeToken(deps, request.params.id, actorOf(request))
      return reply.code(204).send()
    },
  )
}

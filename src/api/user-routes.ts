import type { FastifyInstance } from 'fastify'
import { roles } from '../services/auth.js'
import {
  changeUser,
  completeSetup,
  createSetupLink,
  createUser,
  getUserView,
  listUserViews,
  setPassword,
  setupLinkUser,
  type NewUser,
  type UserChange,
} from '../services/users.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'
import type { SessionStore } from './session-routes.js'

const teamsSchema = {
  type: 'array',
  maxItems: 100,
  items: {
    type: 'object',
    required: ['team', 'role'],
    additionalProperties: false,
    properties: { team: { type: 'string' }, role: { type: 'string', enum: roles } },
  },
  description: 'Team memberships: the user may change only objects of these teams, with this role.',
} as const

const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string', enum: roles },
    disabled: { type: 'boolean' },
    hasPassword: { type: 'boolean' },
    oidc: { type: 'object' },
    teams: teamsSchema,
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
  },
} as const

const setupLinkSchema = {
  type: 'object',
  properties: {
    user: { type: 'string' },
    url: { type: 'string', description: 'Open it once to set the password.' },
    expiresAt: { type: 'integer' },
  },
} as const

const tags = ['users']

/**
 * Users (admin): list, create, change, disable, set a password, team memberships, setup links;
 * and the public setup endpoints a one-time link's page calls.
 */
export async function userRoutes(
  app: FastifyInstance,
  options: { deps: ApiDeps; sessions: SessionStore },
) {
  const { deps, sessions } = options
  const base = deps.publicUrl?.replace(/\/$/, '') ?? ''
  const linkUrl = (path: string) => `${base}${path}`

  app.get(
    '/api/v1/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Users',
        tags,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: userSchema } } },
        },
      },
    },
    async () => ({ items: await listUserViews(deps) }),
  )

  app.post<{ Body: NewUser }>(
    '/api/v1/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a user; the answer carries a one-time link to set the password',
        tags,
        body: {
          type: 'object',
          required: ['id', 'role'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 63 },
            role: { type: 'string', enum: roles },
            name: { type: 'string', maxLength: 200 },
            email: { type: 'string', maxLength: 320 },
            teams: teamsSchema,
          },
        },
        response: {
          201: {
            description: 'The user and their setup link (shown only here).',
            type: 'object',
            properties: { user: userSchema, setupLink: setupLinkSchema },
          },
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const user = await createUser(deps, actor, request.body)
      const link = await createSetupLink(deps, actor, user.id)
      return reply.code(201).send({
        user,
        setupLink: { user: link.user, url: linkUrl(link.path), expiresAt: link.expiresAt },
      })
    },
  )

  app.get<{ Params: { id: string } }>(
    '/api/v1/users/:id',
    {
      config: { role: 'admin' },
      schema: { summary: 'One user', tags, response: { 200: userSchema } },
    },
    async (request) => getUserView(deps, request.params.id),
  )

  app.patch<{ Params: { id: string }; Body: UserChange }>(
    '/api/v1/users/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Change a user (name, email, role, disabled, teams)',
        description:
          'Disabling a user, or changing their role or teams, revokes their sessions at once.',
        tags,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: ['string', 'null'], maxLength: 200 },
            email: { type: ['string', 'null'], maxLength: 320 },
            role: { type: 'string', enum: roles },
            disabled: { type: 'boolean' },
            teams: teamsSchema,
          },
        },
        response: { 200: userSchema },
      },
    },
    async (request) => {
      const updated = await changeUser(
        deps,
        actorOf(request),
        request.params.id,
        request.body ?? {},
      )
      sessions.forgetUser(request.params.id)
      return updated
    },
  )

  app.post<{ Params: { id: string }; Body: { password: string } }>(
    '/api/v1/users/:id/password',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Set a user’s password (ends their sessions and unused setup links)',
        tags,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password: { type: 'string', maxLength: 1024 } },
        },
        response: { 204: { description: 'Set.', type: 'null' } },
      },
    },
    async (request, reply) => {
      await setPassword(deps, actorOf(request), request.params.id, request.body.password)
      sessions.forgetUser(request.params.id)
      return reply.code(204).send()
    },
  )

  app.post<{ Params: { id: string } }>(
    '/api/v1/users/:id/setup-link',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'A new one-time link for the user to set their password (24 h)',
        tags,
        response: { 201: setupLinkSchema },
      },
    },
    async (request, reply) => {
      const link = await createSetupLink(deps, actorOf(request), request.params.id)
      return reply
        .code(201)
        .send({ user: link.user, url: linkUrl(link.path), expiresAt: link.expiresAt })
    },
  )

  app.get<{ Params: { token: string } }>(
    '/api/v1/setup/:token',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Whom a one-time setup link is for (does not use it up)',
        tags,
        response: {
          200: { type: 'object', properties: { user: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return { user: await setupLinkUser(deps, request.params.token) }
    },
  )

  app.post<{ Body: { token: string; password: string } }>(
    '/api/v1/setup',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Set a password with a one-time setup link (then log in)',
        tags,
        body: {
          type: 'object',
          required: ['token', 'password'],
          additionalProperties: false,
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 128 },
            password: { type: 'string', maxLength: 1024 },
          },
        },
        response: { 200: { type: 'object', properties: { user: { type: 'string' } } } },
      },
    },
    async (request) => {
      const user = await completeSetup(deps, { ...request.body, source: request.ip })
      sessions.forgetUser(user)
      return { user }
    },
  )
}

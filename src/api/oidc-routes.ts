import type { FastifyInstance, FastifyRequest } from 'fastify'
import * as client from 'openid-client'
import { AuthenticationError, NotFoundError } from '../core/errors.js'
import { loadRunbooks } from '../runbooks/load.js'
import {
  allowListedNames,
  linkOidcIdentity,
  loginWithOidc,
  unlinkOidcIdentity,
  type OidcRoleRules,
} from '../services/oidc.js'
import { appendAudit } from '../store/audit.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'
import { cookieValue, startSession, type SessionStore } from './session-routes.js'

/** keel.yaml `auth.oidc`, resolved: where the provider is and how claims map to roles. */
export interface OidcSettings extends OidcRoleRules {
  issuer: string
  clientId: string
  clientSecret: string
  /** Keel's callback URL as registered at the provider: `<public URL>/auth/oidc/callback`. */
  redirectUrl: string
  /** The button text on the login page ("Sign in with <displayName>"). */
  displayName?: string
  /** Allow a plain-HTTP issuer (loopback tests and labs only). */
  allowHttp?: boolean
}

const flowCookie = 'keel_oidc'
const flowLifetimeSeconds = 600

interface Flow {
  state: string
  nonce: string
  verifier: string
}

function flowCookieHeader(request: FastifyRequest, value: string, maxAge: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : ''
  // Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
  return `${flowCookie}=${value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`
}

/**
 * OpenID Connect login (authorization code flow with PKCE, state and nonce):
 * `GET /auth/oidc/login` sends the browser to the provider, `GET /auth/oidc/callback` checks its
 * answer, links or creates the user by (issuer, subject) and opens a Keel session. The state,
 * nonce and PKCE verifier travel in a short-lived HttpOnly cookie, so any node can finish a flow
 * another started. `GET /api/v1/auth/methods` tells the login page which ways to log in exist.
 */
export async function oidcRoutes(
  app: FastifyInstance,
  options: { deps: ApiDeps; sessions: SessionStore },
) {
  const { deps, sessions } = options
  const settings = deps.oidc
  let discovered: Promise<client.Configuration> | undefined

  function configuration(): Promise<client.Configuration> {
    if (!settings) {
      throw new NotFoundError('OpenID Connect login is not configured: set auth.oidc in keel.yaml')
    }
    discovered ??= client
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        settings.clientSecret,
        undefined,
        settings.allowHttp ? { execute: [client.allowInsecureRequests] } : {},
      )
      .catch((error: unknown) => {
        discovered = undefined
        throw new AuthenticationError(
          `OpenID Connect discovery at ${settings.issuer} failed; check auth.oidc.issuer: ${error instanceof Error ? error.message : String(error)}`,
        )
      })
    return discovered
  }

  app.get(
    '/api/v1/auth/methods',
    {
      config: { role: 'public' },
      schema: {
        summary: 'How one can log in (for the login page)',
        tags: ['session'],
        response: {
          200: {
            type: 'object',
            properties: {
              password: { type: 'boolean' },
              token: { type: 'boolean' },
              oidc: {
                type: 'object',
                properties: { name: { type: 'string' }, loginUrl: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    async () => ({
      password: true,
      token: true,
      ...(settings
        ? {
            oidc: {
              name: settings.displayName ?? new URL(settings.issuer).host,
              loginUrl: '/auth/oidc/login',
            },
          }
        : {}),
    }),
  )

  app.get(
    '/auth/oidc/login',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Start an OpenID Connect login (redirects to the provider)',
        tags: ['session'],
        response: { 302: { description: 'To the provider.', type: 'null' } },
      },
    },
    async (request, reply) => {
      const config = await configuration()
      const flow: Flow = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
      }
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: (settings as OidcSettings).redirectUrl,
        scope: 'openid profile email',
        response_type: 'code',
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
      })
      const value = Buffer.from(JSON.stringify(flow)).toString('base64url')
      reply.header('set-cookie', flowCookieHeader(request, value, flowLifetimeSeconds))
      reply.header('cache-control', 'no-store')
      return reply.redirect(url.href, 302)
    },
  )

  app.get(
    '/auth/oidc/callback',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Finish an OpenID Connect login (sets the session cookie, redirects to the UI)',
        tags: ['session'],
        response: { 302: { description: 'To the UI, logged in.', type: 'null' } },
      },
    },
    async (request, reply) => {
      const config = await configuration()
      const oidc = settings as OidcSettings
      const raw = cookieValue(request.headers.cookie, flowCookie)
      let flow: Flow | undefined
      try {
        flow = raw
          ? (JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Flow)
          : undefined
      } catch {
        flow = undefined
      }
      if (!flow?.state || !flow.nonce || !flow.verifier) {
        throw new AuthenticationError(
          'OpenID Connect login expired or was started in another browser; start again at /auth/oidc/login',
        )
      }
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
      const current = new URL(`${oidc.redirectUrl}${query}`)
      let claims: Record<string, unknown>
      try {
        const tokens = await client.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        })
        claims = { ...(tokens.claims() ?? {}) }
      } catch (error) {
        await appendAudit(deps.db, {
          at: deps.clock.now(),
          actor: 'oidc',
          action: 'session.login-failed',
          objectType: 'session',
          objectId: oidc.issuer,
          source: request.ip,
          details: { reason: error instanceof Error ? error.message : String(error) },
        })
        throw new AuthenticationError(
          `OpenID Connect login failed: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
      // Runbook allow-lists name people by user id; a newcomer must not take one of those names.
      const library = deps.runbooks ? await loadRunbooks(deps.runbooks.paths) : { runbooks: [] }
      const { user, actor } = await loginWithOidc(deps, {
        issuer: oidc.issuer,
        claims,
        rules: oidc,
        source: request.ip,
        reserved: allowListedNames(library.runbooks.map((r) => r.allowedUsers)),
      })
      await startSession(
        request,
        reply,
        { ...deps, sessions },
        { username: user.username },
        actor,
        'oidc',
      )
      // startSession set the session cookie; clear the flow cookie beside it.
      const sessionCookie = reply.getHeader('set-cookie')
      reply.header('set-cookie', [String(sessionCookie), flowCookieHeader(request, '', 0)])
      return reply.redirect('/', 302)
    },
  )

  const identityView = {
    type: 'object',
    description: 'The user, with `oidc: { issuer, subject }` when linked.',
    properties: {
      id: { type: 'string' },
      role: { type: 'string' },
      oidc: { type: 'object' },
    },
  } as const

  app.put<{ Params: { id: string }; Body: { issuer: string; subject: string } }>(
    '/api/v1/users/:id/oidc',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Link an OpenID Connect identity (issuer + subject) to an existing user',
        description:
          'The person who logs in through the provider as `subject` then acts as this user. A user that held the identity before (one its first login created, such as `carol-3f9a1c`) loses it and its sessions. Audited as `user.link-oidc`.',
        tags: ['users'],
        body: {
          type: 'object',
          required: ['issuer', 'subject'],
          additionalProperties: false,
          properties: {
            issuer: { type: 'string', minLength: 1, maxLength: 500 },
            subject: { type: 'string', minLength: 1, maxLength: 255 },
          },
        },
        response: { 200: identityView },
      },
    },
    async (request) => linkOidcIdentity(deps, actorOf(request), request.params.id, request.body),
  )

  app.delete<{ Params: { id: string } }>(
    '/api/v1/users/:id/oidc',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Remove a user’s OpenID Connect link (ends their sessions)',
        tags: ['users'],
        response: { 200: identityView },
      },
    },
    async (request) => unlinkOidcIdentity(deps, actorOf(request), request.params.id),
  )
}

import { z } from 'zod'

const roleSchema = z.enum(['viewer', 'responder', 'operator', 'admin'])

/** keel.yaml `auth.oidc`: OpenID Connect login through an identity provider. */
/** A team membership as `team:role`, the form `keel user add --team` takes. */
const teamRoleSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,62}:(viewer|responder|operator|admin)$/,
    'write a team membership as team:role, e.g. dba:operator (role: viewer, responder, operator or admin)',
  )

export const oidcConfigSchema = z
  .object({
    issuer: z
      .url()
      .describe('The provider’s issuer URL; Keel reads <issuer>/.well-known/openid-configuration.'),
    clientId: z.string().min(1).describe('The client id registered at the provider.'),
    clientSecret: z
      .string()
      .min(1)
      .describe('The client secret (secret); write it as ${OIDC_CLIENT_SECRET}.'),
    redirectUrl: z
      .url()
      .optional()
      .describe(
        'The callback URL registered at the provider; defaults to <server.publicUrl>/auth/oidc/callback.',
      ),
    displayName: z
      .string()
      .max(60)
      .optional()
      .describe('The login button says "Sign in with <displayName>"; defaults to the issuer host.'),
    roleClaim: z
      .string()
      .optional()
      .describe(
        'The ID token claim with role or group names (e.g. groups); when set, the role follows it on every login.',
      ),
    roleMapping: z
      .record(z.string(), roleSchema)
      .optional()
      .describe(
        'Claim value → Keel role; the strongest match wins. A claim value that is itself a role name maps to it.',
      ),
    defaultRole: roleSchema.default('viewer').describe('The role of a user no claim value maps.'),
    teamClaim: z
      .string()
      .optional()
      .describe('The ID token claim with group names for teamMapping; defaults to roleClaim.'),
    teamMapping: z
      .record(z.string(), z.union([teamRoleSchema, z.array(teamRoleSchema).min(1)]))
      .optional()
      .describe(
        'Claim value → team memberships as "team:role" (or a list of them). When set, a user’s teams follow the claims on every login; the strongest role per team wins.',
      ),
    allowHttp: z
      .boolean()
      .default(false)
      .describe('Accept a plain-HTTP issuer (labs and loopback tests only).'),
  })
  .strict()

/** keel.yaml `auth`: how people log in besides user names, passwords and API tokens. */
export const authConfigSchema = z
  .object({
    oidc: oidcConfigSchema.optional().describe('OpenID Connect login (optional).'),
  })
  .strict()

import type { OidcSettings } from '../api/oidc-routes.js'
import type { KeelConfig } from '../config/schema.js'

/**
 * The API's OIDC settings from keel.yaml `auth.oidc`, as a spreadable `{ oidc }` (empty when
 * not configured); the callback URL defaults to `<server.publicUrl>/auth/oidc/callback`.
 */
export function oidcSettings(config: KeelConfig): { oidc?: OidcSettings } {
  const oidc = config.auth.oidc
  if (!oidc) return {}
  const base = (config.server.publicUrl ?? `http://${config.server.listen}`).replace(/\/$/, '')
  return {
    oidc: {
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      clientSecret: oidc.clientSecret,
      redirectUrl: oidc.redirectUrl ?? `${base}/auth/oidc/callback`,
      defaultRole: oidc.defaultRole,
      allowHttp: oidc.allowHttp,
      ...(oidc.displayName !== undefined ? { displayName: oidc.displayName } : {}),
      ...(oidc.roleClaim !== undefined ? { roleClaim: oidc.roleClaim } : {}),
      ...(oidc.roleMapping !== undefined ? { roleMapping: oidc.roleMapping } : {}),
      ...(oidc.teamClaim !== undefined ? { teamClaim: oidc.teamClaim } : {}),
      ...(oidc.teamMapping !== undefined ? { teamMapping: oidc.teamMapping } : {}),
    },
  }
}

import { describe, expect, it } from 'vitest'
import { isSecretConfigPath } from './redact.js'
import { keelConfigSchema } from './schema.js'

describe('keel.yaml auth', () => {
  const oidc = { issuer: 'https://idp.example.org', clientId: 'keel', clientSecret: 's3cret' }

  it('fills OIDC defaults: role viewer, HTTPS issuers only', () => {
    expect(keelConfigSchema.parse({ auth: { oidc } }).auth.oidc).toEqual({
      ...oidc,
      defaultRole: 'viewer',
      allowHttp: false,
    })
  })

  it.each([
    [{ ...oidc, defaultRole: 'root' }, 'defaultRole'],
    [{ ...oidc, roleMapping: { ops: 'boss' } }, 'roleMapping'],
    [{ clientId: 'keel', clientSecret: 'x' }, 'issuer'],
    [{ ...oidc, scopes: 'x' }, 'scopes'],
    [{ ...oidc, teamMapping: { dbas: 'dba' } }, 'write a team membership as team:role'],
    [{ ...oidc, teamMapping: { dbas: ['dba:root'] } }, 'teamMapping'],
  ])('refuses a bad oidc section (%#: %s)', (section, field) => {
    const result = keelConfigSchema.safeParse({ auth: { oidc: section } })
    expect(result.success).toBe(false)
    expect(JSON.stringify(result.error?.issues)).toContain(field)
  })

  it('takes team memberships as team:role, one or a list per claim value', () => {
    const parsed = keelConfigSchema.parse({
      auth: {
        oidc: {
          ...oidc,
          teamMapping: { dbas: 'dba:operator', ops: ['dba:viewer', 'web:responder'] },
        },
      },
    })
    expect(parsed.auth.oidc?.teamMapping).toEqual({
      dbas: 'dba:operator',
      ops: ['dba:viewer', 'web:responder'],
    })
  })

  it('treats the client secret as a secret', () => {
    expect(isSecretConfigPath({}, ['auth', 'oidc', 'clientSecret'])).toBe(true)
    expect(isSecretConfigPath({}, ['auth', 'oidc', 'clientId'])).toBe(false)
  })
})

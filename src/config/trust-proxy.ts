import { isIP } from 'node:net'
import { z } from 'zod'

/** True for an IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.10`). */
export function isAddressOrCidr(text: string): boolean {
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  const version = isIP(address)
  if (version === 0) return false
  if (slash < 0) return true
  const bits = text.slice(slash + 1)
  const max = version === 4 ? 32 : 128
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max
}

/**
 * keel.yaml `server.trustProxy`: the reverse proxies whose `X-Forwarded-For` and
 * `X-Forwarded-Proto` Keel believes. Empty (the default) trusts nobody, so the client address is
 * the socket's peer and a forged header changes nothing.
 */
export const trustProxySchema = z
  .array(
    z.string().refine(isAddressOrCidr, {
      error: (issue) =>
        `must be an IP address or CIDR block of a reverse proxy, such as 127.0.0.1/32 or 10.0.0.0/8, got ${JSON.stringify(issue.input)}`,
    }),
  )
  .default([])
  .describe(
    'Addresses or CIDR blocks of reverse proxies in front of Keel. Only requests from them have X-Forwarded-For (the client address for the login limit and the audit trail) and X-Forwarded-Proto (the Secure session cookie) honoured. Default: none.',
  )

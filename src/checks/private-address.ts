import { lookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'

// Each range with the words a refusal uses. IPv4-mapped and IPv4-compatible IPv6 addresses are
// refused outright: a public target has no reason to be reached through them, and they are the
// classic way around a filter that only knows IPv4.
const ranges: [address: string, prefix: number, family: 'ipv4' | 'ipv6', kind: string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified ("this network")'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['10.0.0.0', 8, 'ipv4', 'private (RFC 1918)'],
  ['172.16.0.0', 12, 'ipv4', 'private (RFC 1918)'],
  ['192.168.0.0', 16, 'ipv4', 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT (RFC 6598)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignment'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved or broadcast'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped IPv6'],
  ['::', 96, 'ipv6', 'IPv4-compatible IPv6'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['fc00::', 7, 'ipv6', 'unique local (RFC 4193)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
]

const lists = ranges.map(([address, prefix, family, kind]) => {
  const list = new BlockList()
  list.addSubnet(address, prefix, family)
  return { list, family, kind }
})

/**
 * What kind of non-public address `ip` is (`loopback`, `private (RFC 1918)`), or undefined for a
 * public one. Text that is not an IP address counts as non-public, so a mistake refuses.
 */
export function privateAddressKind(ip: string): string | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  const version = isIP(bare.split('%')[0] ?? '')
  if (version === 0) return 'not an IP address'
  const family = version === 4 ? 'ipv4' : 'ipv6'
  const address = bare.split('%')[0] as string
  return lists.find((entry) => entry.family === family && entry.list.check(address, family))?.kind
}

/** A connection refused because its address is not public (`checks.refusePrivateTargets`). */
export class PrivateTargetError extends Error {
  readonly code = 'KEEL_PRIVATE_TARGET'
  constructor(host: string, address: string, kind: string) {
    super(
      `refused to connect to ${host}${host === address ? '' : ` (resolves to ${address})`}: a ${kind} address; private targets are refused here (checks.refusePrivateTargets or the monitor's refusePrivateTargets)`,
    )
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/**
 * A `dns.lookup` for `net.connect` that fails when any resolved address is not public. It runs
 * at connect time for every connection, redirects included, so DNS rebinding cannot slip a
 * private address in between a check and the connection.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, [])
    for (const entry of addresses) {
      const kind = privateAddressKind(entry.address)
      if (kind) return callback(new PrivateTargetError(hostname, entry.address, kind), [])
    }
    if (options.all) return callback(null, addresses)
    const first = addresses[0]
    if (!first)
      return callback(
        Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
        [],
      )
    callback(null, first.address, first.family)
  })
}

/** Refuses a literal IP host before connecting (`net.connect` does not look literals up). */
export function refuseLiteralPrivateHost(hostname: string): PrivateTargetError | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  if (isIP(bare) === 0) return undefined
  const kind = privateAddressKind(bare)
  return kind ? new PrivateTargetError(bare, bare, kind) : undefined
}

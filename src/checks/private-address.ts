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

/** A connection refused because its address is not public (the SSRF guard). */
export class PrivateTargetError extends Error {
  readonly code = 'KEEL_PRIVATE_TARGET'
  constructor(
    host: string,
    address: string,
    kind: string,
    setting = 'checks.refusePrivateTargets',
  ) {
    super(
      `refused to connect to ${host}${host === address ? '' : ` (resolves to ${address})`}: a ${kind} address; private targets are refused here (${setting})`,
    )
  }
}

/** The guard's refusal inside an error (undici and Node wrap it in causes and AggregateErrors). */
export function findPrivateTargetError(error: unknown): PrivateTargetError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof PrivateTargetError) return current
    if (current instanceof AggregateError) current = current.errors[0]
    else current = (current as { cause?: unknown }).cause
  }
  return undefined
}

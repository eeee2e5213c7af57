import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { Socket, connect as netConnect, isIP, type TcpSocketConnectOpts } from 'node:net'
import { Agent, buildConnector, type Dispatcher } from 'undici'
import { PrivateTargetError, privateAddressKind } from './private-address.js'

/** The callback of a `dns.lookup`-compatible function. */
export type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** A `dns.lookup`-compatible function, as `net.connect` and undici take it. */
export type LookupFunction = (
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
) => void

/** Decides whether Keel may connect to an address: undefined allows it, a kind (`loopback`) refuses. */
export type AddressPolicy = (address: string) => string | undefined

/** One way of refusing non-public addresses, shared by every outbound connection of a purpose. */
export interface OutboundGuard {
  /** The keel.yaml setting named in refusals, so the operator knows what turned the guard on. */
  readonly setting: string
  readonly policy: AddressPolicy
  /** A `dns.lookup` that fails when any address a name resolves to is refused by `policy`. */
  readonly lookup: LookupFunction
}

/**
 * What the guard protects: `monitors` (every probe, `checks.refusePrivateTargets`) or
 * `outbound` (notification channels and runbook HTTP steps, `outbound.refusePrivateTargets`,
 * which follows the checks setting unless set).
 */
export type OutboundPurpose = 'monitors' | 'outbound'

/** The guard's settings; start-up and every reload set them from keel.yaml. */
export interface OutboundGuardSettings {
  /** `checks.refusePrivateTargets`. */
  monitors: boolean
  /** `outbound.refusePrivateTargets`; undefined follows `monitors`. */
  outbound?: boolean | undefined
  /** Which addresses are refused; `privateAddressKind` unless a test simulates a public network. */
  policy?: AddressPolicy
  /** The resolver under the guard; `dns.lookup` unless a test points names elsewhere. */
  resolve?: LookupFunction
}

function guardedLookup(setting: string, policy: AddressPolicy, resolve: LookupFunction) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, resolved) => {
      if (error) return callback(error, [])
      const addresses = Array.isArray(resolved)
        ? resolved
        : [{ address: resolved, family: isIP(resolved) }]
      // Every address is checked, not only the first: happy eyeballs may connect to any of them.
      for (const entry of addresses) {
        const kind = policy(entry.address)
        if (kind)
          return callback(new PrivateTargetError(hostname, entry.address, kind, setting), [])
      }
      if (options.all) return callback(null, addresses)
      const first = addresses[0]
      if (!first) {
        const missing = Object.assign(new Error(`no address for ${hostname}`), {
          code: 'ENOTFOUND',
        })
        return callback(missing, [])
      }
      callback(null, first.address, first.family)
    })
  }
}

function makeGuard(setting: string, policy: AddressPolicy, resolve: LookupFunction): OutboundGuard {
  return { setting, policy, lookup: guardedLookup(setting, policy, resolve) }
}

interface Guards {
  settings: OutboundGuardSettings
  monitors: OutboundGuard
  monitorOptIn: OutboundGuard
  outbound: OutboundGuard
}

function buildGuards(settings: OutboundGuardSettings): Guards {
  const policy = settings.policy ?? privateAddressKind
  const resolve = settings.resolve ?? (systemLookup as LookupFunction)
  return {
    settings,
    monitors: makeGuard('checks.refusePrivateTargets', policy, resolve),
    monitorOptIn: makeGuard("the monitor's refusePrivateTargets", policy, resolve),
    outbound: makeGuard(
      settings.outbound === undefined
        ? 'checks.refusePrivateTargets, which outbound.refusePrivateTargets follows when unset'
        : 'outbound.refusePrivateTargets',
      policy,
      resolve,
    ),
  }
}

let guards = buildGuards({ monitors: false })

/** Sets the SSRF guard from keel.yaml (start-up and reload); tests also swap policy and resolver. */
export function configureOutboundGuard(settings: OutboundGuardSettings): void {
  guards = buildGuards(settings)
}

/**
 * The guard for one outbound connection, or undefined when private targets are allowed. A
 * monitor may opt in with `monitorOptIn`; it cannot opt out of the server setting.
 */
export function outboundGuard(
  purpose: OutboundPurpose,
  monitorOptIn = false,
): OutboundGuard | undefined {
  if (purpose === 'outbound') {
    return (guards.settings.outbound ?? guards.settings.monitors) ? guards.outbound : undefined
  }
  if (guards.settings.monitors) return guards.monitors
  return monitorOptIn ? guards.monitorOptIn : undefined
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

/** Refuses a literal IP host before connecting (`net.connect` does not look literals up). */
export function refuseLiteral(host: string, guard: OutboundGuard): PrivateTargetError | undefined {
  const address = bare(host)
  if (isIP(address.split('%')[0] ?? '') === 0) return undefined
  const kind = guard.policy(address)
  return kind ? new PrivateTargetError(address, address, kind, guard.setting) : undefined
}

/** Refuses a connected socket whose peer is not allowed (belt and braces after the lookup). */
export function refusePeer(
  socket: { remoteAddress?: string | undefined },
  host: string,
  guard: OutboundGuard,
): PrivateTargetError | undefined {
  const address = socket.remoteAddress
  if (address === undefined) return undefined
  const kind = guard.policy(address)
  return kind ? new PrivateTargetError(bare(host), address, kind, guard.setting) : undefined
}

/**
 * An unconnected socket whose `connect` goes through the guard: a literal host is refused before
 * connecting, a name on every address it resolves to, and the peer once connected. For drivers
 * that take a socket factory (pg, mysql2) and for the probes' own connections.
 */
export function guardedSocket(guard: OutboundGuard): Socket {
  const socket = new Socket()
  const connect = socket.connect.bind(socket) as (
    options: TcpSocketConnectOpts,
    listener?: () => void,
  ) => Socket
  let host = 'localhost'
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean
  // Intercepted rather than listened to, so no driver ever sees a refused peer as connected.
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'connect') {
      const refused = refusePeer(socket, host, guard)
      if (refused) {
        socket.destroy(refused)
        return false
      }
    }
    return emit(event, ...args)
  }) as Socket['emit']
  socket.connect = ((...args: unknown[]) => {
    const [first, second, third] = args
    const listener = [second, third].find((arg): arg is () => void => typeof arg === 'function')
    if (typeof first === 'string' && !/^\d+$/.test(first)) {
      // A Unix socket path (pg's `host=/var/run/postgresql`) is as internal as it gets.
      const refused = new PrivateTargetError(first, first, 'Unix socket', guard.setting)
      process.nextTick(() => socket.destroy(refused))
      return socket
    }
    const options: TcpSocketConnectOpts =
      typeof first === 'object' && first !== null
        ? { ...(first as TcpSocketConnectOpts) }
        : { port: Number(first), host: typeof second === 'string' ? second : 'localhost' }
    host = options.host ?? 'localhost'
    const literal = refuseLiteral(host, guard)
    if (literal) {
      process.nextTick(() => socket.destroy(literal))
      return socket
    }
    return connect({ ...options, lookup: guard.lookup }, listener)
  }) as Socket['connect']
  return socket
}

/** Opens a TCP connection, through the guard when there is one. */
export function connectTcp(
  options: { host: string; port: number },
  guard: OutboundGuard | undefined,
): Socket {
  if (!guard) return netConnect(options)
  return guardedSocket(guard).connect(options)
}

/**
 * Resolves a host to the one address a tool that cannot take a socket (the ping binary) should
 * use, through the guard: refused like a connection would be.
 */
export function resolveThroughGuard(host: string, guard: OutboundGuard): Promise<string> {
  const literal = refuseLiteral(host, guard)
  if (literal) return Promise.reject(literal)
  if (isIP(bare(host).split('%')[0] ?? '') !== 0) return Promise.resolve(bare(host))
  return new Promise((resolve, reject) => {
    guard.lookup(host, {}, (error, address) => {
      if (error) reject(error)
      else resolve(address as string)
    })
  })
}

type Connector = ReturnType<typeof buildConnector>

/**
 * An undici connector that validates the address it connects to: literal hosts before
 * connecting, names in the DNS lookup, and the peer address of the socket once connected. Every
 * connection goes through it, redirects included, so DNS rebinding cannot slip a private address
 * in between a check and the connection.
 */
export function guardedConnector(
  options: buildConnector.BuildOptions,
  guard: OutboundGuard | undefined,
): Connector {
  if (!guard) return buildConnector(options)
  const inner = buildConnector({ ...options, lookup: guard.lookup } as buildConnector.BuildOptions)
  return (connectOptions, callback) => {
    const literal = refuseLiteral(connectOptions.hostname, guard)
    if (literal) {
      callback(literal, null)
      return
    }
    inner(connectOptions, (error, socket) => {
      if (error || !socket) {
        callback(error ?? new Error(`no socket to ${connectOptions.hostname}`), null)
        return
      }
      const refused = refusePeer(socket, connectOptions.hostname, guard)
      if (refused) {
        socket.destroy()
        callback(refused, null)
        return
      }
      callback(null, socket)
    })
  }
}

const dispatchers = new WeakMap<OutboundGuard, Dispatcher>()

/**
 * The undici dispatcher for notification channels and runbook HTTP steps: undefined (undici's
 * global one) when the guard is off, otherwise one guarded agent shared by all of them.
 */
export function outboundDispatcher(guard: OutboundGuard | undefined): Dispatcher | undefined {
  if (!guard) return undefined
  let dispatcher = dispatchers.get(guard)
  if (!dispatcher) {
    dispatcher = new Agent({ connect: guardedConnector({}, guard) })
    dispatchers.set(guard, dispatcher)
  }
  return dispatcher
}

import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { z } from 'zod'
import type { CheckOutcome, Metric } from '../core/checks/index.js'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError, errorMessage } from './network-error.js'
import { connectTcp, outboundGuard, resolveThroughGuard } from './outbound-guard.js'
import { defineProbe, type ProbeContext } from './probe.js'
import { probeDeadline, type ProbeDeadline } from './probe-deadline.js'
import { roughDuration } from './rough-duration.js'
import { hostField, portField } from './tcp.js'

/** The fields of a `ping` monitor. */
export const pingConfigSchema = z.object({
  host: hostField,
  /** `icmp` runs the system's ping, `tcp` connects to `port`, `auto` prefers ICMP when it works. */
  method: z.enum(['auto', 'icmp', 'tcp']).default('auto'),
  count: z.number().int().min(1).max(20).default(3),
  /** The port the TCP method connects to. */
  port: portField.default(80),
})

type PingConfig = z.output<typeof pingConfigSchema>

/** What one ping run measured, whichever method it used. */
export interface PingResult {
  sent: number
  received: number
  /** Average round trip of the replies, ms. */
  averageMs?: number
  ip?: string
  /** Set when no packet could be sent at all (unknown host, no permission). */
  error?: string
}

const pingPaths = ['/usr/bin/ping', '/bin/ping', '/usr/sbin/ping', '/sbin/ping']

/** The path of the system's ping binary, or undefined when none is installed. */
export async function findPingBinary(): Promise<string | undefined> {
  for (const path of pingPaths) {
    try {
      await access(path, constants.X_OK)
      return path
    } catch {
      // Try the next location.
    }
  }
  return undefined
}

/** Reads iputils, BusyBox or BSD ping output: packets sent and received, average rtt, address. */
export function parsePingOutput(output: string): Omit<PingResult, 'error'> | undefined {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output)
  if (!counts) return undefined
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/(?:mdev|stddev))? = [\d.]+\/([\d.]+)\//.exec(
    output,
  )
  const address = /^PING \S+ \(([^)]+)\)/m.exec(output)
  return {
    sent: Number(counts[1]),
    received: Number(counts[2]),
    ...(rtt ? { averageMs: Number(rtt[1]) } : {}),
    ...(address ? { ip: address[1] as string } : {}),
  }
}

function icmpPing(
  binary: string,
  config: PingConfig,
  target: string,
  deadline: ProbeDeadline,
  timeoutMs: number,
) {
  // -w bounds the whole run; -W bounds the wait for each reply; -i 0.2 is the unprivileged minimum.
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)))
  const args = [
    '-n',
    '-c',
    String(config.count),
    '-i',
    '0.2',
    '-W',
    '1',
    '-w',
    seconds,
    '--',
    target,
  ]
  return new Promise<PingResult>((resolve) => {
    execFile(
      binary,
      args,
      {
        signal: deadline.signal,
        env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' },
        maxBuffer: 64 * 1024,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (deadline.signal.aborted)
          return resolve({ sent: 0, received: 0, error: deadline.abortMessage() })
        const parsed = parsePingOutput(stdout)
        if (parsed) return resolve(parsed)
        const detail = stderr.trim().split('\n')[0] || (error ? errorMessage(error) : 'no output')
        resolve({ sent: 0, received: 0, error: detail.replace(/^ping: /, '') })
      },
    )
  })
}

function connectOnce(host: string, port: number, signal: AbortSignal) {
  return new Promise<{ ms: number; ip?: string } | { error: unknown }>((resolve) => {
    const started = performance.now()
    const socket = connectTcp({ host, port }, outboundGuard('monitors'))
    const done = (result: { ms: number; ip?: string } | { error: unknown }) => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(result)
    }
    function onAbort() {
      done({ error: signal.reason })
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () =>
      done({
        ms: performance.now() - started,
        ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}),
      }),
    )
    socket.on('error', (error) => done({ error }))
  })
}

async function tcpPing(config: PingConfig, deadline: ProbeDeadline): Promise<PingResult> {
  const times: number[] = []
  let ip: string | undefined
  let lastError: unknown
  let sent = 0
  for (let i = 0; i < config.count && !deadline.signal.aborted; i++) {
    sent++
    const result = await connectOnce(config.host, config.port, deadline.signal)
    if ('error' in result) lastError = result.error
    else {
      times.push(result.ms)
      ip ??= result.ip
    }
  }
  const averageMs = times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : undefined
  return {
    sent,
    received: times.length,
    ...(averageMs !== undefined ? { averageMs } : {}),
    ...(ip ? { ip } : {}),
    ...(times.length === 0 && lastError !== undefined && !deadline.signal.aborted
      ? { error: describeNetworkError(lastError, `${config.host}:${config.port}`) }
      : {}),
  }
}

function formatRoundTrip(ms: number): string {
  return ms < 1000 ? `${Number(ms.toFixed(3))}ms` : roughDuration(ms)
}

function judge(
  result: PingResult,
  method: string,
  context: ProbeContext,
  deadline: ProbeDeadline,
): CheckOutcome {
  const latencyMs = result.averageMs ?? deadline.elapsedMs()
  const observed = {
    connected: result.received > 0,
    ...(result.averageMs !== undefined ? { responseTimeMs: result.averageMs } : {}),
    ...(result.ip ? { ip: result.ip } : {}),
  }
  const metrics: Metric[] = []
  if (result.averageMs !== undefined) {
    metrics.push({
      label: 'rta',
      value: Math.round(result.averageMs * 1000) / 1000,
      unit: 'ms',
      min: 0,
    })
  }
  if (result.sent > 0) {
    const loss = Math.round((100 * (result.sent - result.received)) / result.sent)
    metrics.push({ label: 'pl', value: loss, unit: '%', min: 0, max: 100 })
  }
  if (result.received === 0) {
    const why =
      result.error ??
      (deadline.signal.aborted ? deadline.abortMessage() : `no reply to ${result.sent} packets`)
    const failure = `${method}: ${why}`
    return concludeCheck({ context, observed, latencyMs, summary: failure, failure, metrics })
  }
  const lost = result.sent - result.received
  return concludeCheck({
    context,
    defaults: ['[CONNECTED] == true'],
    observed,
    latencyMs,
    summary: `${method}: ${result.received}/${result.sent} replies, average ${formatRoundTrip(result.averageMs ?? 0)}`,
    ...(lost > 0 ? { degraded: `${lost} of ${result.sent} lost` } : {}),
    metrics,
  })
}

/** Pings a host with ICMP through the system's ping binary, or by timing TCP connects. */
export const pingProbe = defineProbe({
  type: 'ping',
  description: 'ICMP ping (system ping binary) or TCP connect ping: reachability, loss, round trip',
  configSchema: pingConfigSchema,
  secretFields: [],
  placeholders: ['[CONNECTED]', '[RESPONSE_TIME]', '[IP]'],
  expectations: (config) => [
    { text: 'host answers at least one ping', otherwise: 'down' },
    { text: `all ${config.count} pings answered`, otherwise: 'degraded' },
  ],
  target: (config) =>
    config.method === 'tcp' ? `ping tcp://${config.host}:${config.port}` : `ping ${config.host}`,
  async run(config, context) {
    const deadline = probeDeadline(context)
    const tcpMethod = `TCP ping ${config.host}:${config.port}`
    if (config.method !== 'tcp') {
      // The ping binary resolves names itself, so the guard resolves first and pings the address.
      const guard = outboundGuard('monitors')
      let target = config.host
      if (guard) {
        try {
          target = await resolveThroughGuard(config.host, guard)
        } catch (error) {
          const failure = `ICMP ping ${config.host}: ${describeNetworkError(error, config.host)}`
          return concludeCheck({ context, observed: {}, latencyMs: 0, summary: failure, failure })
        }
      }
      const binary = await findPingBinary()
      if (binary) {
        const result = await icmpPing(binary, config, target, deadline, context.timeoutMs)
        const unusable =
          result.error !== undefined && /not permitted|permission denied/i.test(result.error)
        if (!unusable || config.method === 'icmp')
          return judge(result, `ICMP ping ${config.host}`, context, deadline)
        const fallback = await tcpPing(config, deadline)
        return judge(
          fallback,
          `${tcpMethod} (ICMP not allowed: ${result.error})`,
          context,
          deadline,
        )
      }
      if (config.method === 'icmp') {
        const failure = `ICMP ping ${config.host}: no ping binary in ${pingPaths.join(', ')}; install iputils-ping or use method: tcp`
        return concludeCheck({ context, observed: {}, latencyMs: 0, summary: failure, failure })
      }
      const fallback = await tcpPing(config, deadline)
      return judge(fallback, `${tcpMethod} (no ping binary installed)`, context, deadline)
    }
    return judge(await tcpPing(config, deadline), tcpMethod, context, deadline)
  },
})

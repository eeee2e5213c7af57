import { randomInt } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { getServers } from 'node:dns'
import { isIP, isIPv6 } from 'node:net'
import * as dnsPacket from 'dns-packet'
import { z } from 'zod'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError } from './network-error.js'
import { connectTcp, outboundGuard, refuseLiteral, type OutboundGuard } from './outbound-guard.js'
import { defineProbe, type ProbeExpectation } from './probe.js'
import { probeDeadline } from './probe-deadline.js'
import { portField } from './tcp.js'

const recordTypes = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SOA', 'PTR', 'SRV'] as const
type DnsRecordType = (typeof recordTypes)[number]

/** The fields of a `dns` monitor. */
export const dnsConfigSchema = z.object({
  /** The name to look up; for PTR an IP address is turned into its reverse name. */
  query: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'query must be a domain name (or an IP address for PTR)'),
  recordType: z.enum(recordTypes).default('A'),
  /** The resolver's IP address; the system's first resolver when absent. */
  server: z
    .string()
    .refine((value) => isIP(value) !== 0, 'server must be an IP address, such as 127.0.0.53')
    .optional(),
  port: portField.default(53),
  transport: z.enum(['udp', 'tcp']).default('udp'),
  /** Answers that must all be present (`192.0.2.1`, `10 mail.example.org` for MX). */
  expectedAnswers: z.array(z.string().min(1)).min(1).optional(),
})

type DnsConfig = z.output<typeof dnsConfigSchema>

interface DnsResponse {
  rcode: string
  answers: dnsPacket.Answer[]
  truncated: boolean
}

function expandIPv6(address: string): string {
  const [head = '', tail] = address.split('::') as [string, string?]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = 8 - headGroups.length - tailGroups.length
  const groups = [
    ...headGroups,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailGroups,
  ]
  return groups.map((group) => group.padStart(4, '0')).join('')
}

/** The name to query: a PTR lookup of an IP address asks for its in-addr.arpa or ip6.arpa name. */
export function queryName(config: Pick<DnsConfig, 'query' | 'recordType'>): string {
  const name = config.query.replace(/\.$/, '')
  if (config.recordType !== 'PTR' || isIP(name) === 0) return name
  if (isIPv6(name)) return `${expandIPv6(name).split('').reverse().join('.')}.ip6.arpa`
  return `${name.split('.').reverse().join('.')}.in-addr.arpa`
}

function bare(name: string): string {
  return name.replace(/\.$/, '')
}

/** One answer as text: `192.0.2.1`, `10 mail.example.org`, `0 5 5060 sip.example.org`. */
export function formatAnswer(answer: dnsPacket.Answer): string {
  switch (answer.type) {
    case 'A':
    case 'AAAA':
      return answer.data
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return bare(answer.data)
    case 'MX':
      return `${answer.data.preference ?? 0} ${bare(answer.data.exchange)}`
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data]
      return parts.map((part) => (Buffer.isBuffer(part) ? part.toString('utf8') : part)).join('')
    }
    case 'SOA': {
      const soa = answer.data
      return [
        bare(soa.mname),
        bare(soa.rname),
        soa.serial,
        soa.refresh,
        soa.retry,
        soa.expire,
        soa.minimum,
      ].join(' ')
    }
    case 'SRV': {
      const srv = answer.data
      return `${srv.priority ?? 0} ${srv.weight ?? 0} ${srv.port} ${bare(srv.target)}`
    }
    default:
      return answer.type
  }
}

function decodeResponse(message: Buffer, id: number): DnsResponse | undefined {
  let packet: dnsPacket.DecodedPacket & { rcode?: string }
  try {
    packet = dnsPacket.decode(message)
  } catch {
    return undefined
  }
  if (packet.id !== id || packet.type !== 'response') return undefined
  return {
    rcode: packet.rcode ?? 'NOERROR',
    answers: packet.answers ?? [],
    truncated: packet.flag_tc,
  }
}

function queryUdp(server: string, port: number, query: Buffer, id: number, signal: AbortSignal) {
  return new Promise<DnsResponse>((resolve, reject) => {
    const socket = createSocket(isIPv6(server) ? 'udp6' : 'udp4')
    // UDP may lose the query or the answer; ask again each second, as stub resolvers do.
    const resend = setInterval(() => socket.send(query, port, server), 1_000)
    const done = () => {
      clearInterval(resend)
      signal.removeEventListener('abort', onAbort)
      socket.close()
    }
    function onAbort() {
      done()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.on('message', (message, remote) => {
      if (remote.port !== port) return
      const response = decodeResponse(message, id)
      if (!response) return
      done()
      resolve(response)
    })
    socket.on('error', (error) => {
      done()
      reject(error)
    })
    socket.send(query, port, server)
  })
}

function queryTcp(
  server: string,
  port: number,
  query: Buffer,
  id: number,
  signal: AbortSignal,
  guard: OutboundGuard | undefined,
) {
  return new Promise<DnsResponse>((resolve, reject) => {
    const socket = connectTcp({ host: server, port }, guard)
    let buffered = Buffer.alloc(0)
    const done = () => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
    }
    function onAbort() {
      done()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      // DNS over TCP prefixes each message with its length (RFC 1035, 4.2.2).
      const prefix = Buffer.alloc(2)
      prefix.writeUInt16BE(query.length)
      socket.write(Buffer.concat([prefix, query]))
    })
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return
      const response = decodeResponse(buffered.subarray(2, 2 + buffered.readUInt16BE(0)), id)
      done()
      if (response) resolve(response)
      else reject(new Error('the server sent an answer that is not a DNS response to this query'))
    })
    socket.on('error', (error) => {
      done()
      reject(error)
    })
    socket.on('end', () => {
      done()
      reject(new Error('the server closed the connection without an answer'))
    })
  })
}

function resolver(config: DnsConfig): string | undefined {
  if (config.server) return config.server
  const first = getServers()[0]
  // getServers() may include a port (`[::1]:5353`, `127.0.0.1:5353`); the config's port wins.
  return first?.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1')
}

/** Asks a DNS resolver for one record type over UDP (or TCP) and judges rcode and answers. */
export const dnsProbe = defineProbe({
  type: 'dns',
  description: 'DNS query to a chosen resolver: rcode and expected answers',
  configSchema: dnsConfigSchema,
  secretFields: [],
  placeholders: ['[DNS_RCODE]', '[BODY]', '[RESPONSE_TIME]', '[CONNECTED]', '[IP]'],
  expectations(config, conditions) {
    const expected: ProbeExpectation[] =
      conditions.length > 0
        ? []
        : [
            { text: 'response code is NOERROR', otherwise: 'down' },
            { text: `at least one ${config.recordType} record`, otherwise: 'down' },
          ]
    for (const answer of config.expectedAnswers ?? []) {
      expected.push({ text: `answers include ${answer}`, otherwise: 'down' })
    }
    return expected
  },
  target: (config) => `${config.recordType} ${config.query} @${config.server ?? 'system resolver'}`,
  async run(config, context) {
    const deadline = probeDeadline(context)
    const server = resolver(config)
    const name = queryName(config)
    const question = `${config.recordType} ${name}`
    if (!server) {
      const failure = 'no resolver configured; set server to the IP address of a DNS server'
      return concludeCheck({
        context,
        observed: { connected: false },
        latencyMs: 0,
        summary: failure,
        failure,
      })
    }
    const where = isIPv6(server) ? `[${server}]:${config.port}` : `${server}:${config.port}`
    // The host's own resolver on port 53 is the administrator's choice; any other is checked.
    const guard =
      config.server === undefined && config.port === 53 ? undefined : outboundGuard('monitors')
    const refused = guard ? refuseLiteral(server, guard) : undefined
    if (refused) {
      return concludeCheck({
        context,
        observed: { connected: false },
        latencyMs: 0,
        summary: refused.message,
        failure: refused.message,
      })
    }
    const id = randomInt(0, 65_536)
    const query = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: config.recordType as DnsRecordType, name, class: 'IN' }],
    })
    let response: DnsResponse
    let transport = config.transport
    try {
      response =
        transport === 'udp'
          ? await queryUdp(server, config.port, query, id, deadline.signal)
          : await queryTcp(server, config.port, query, id, deadline.signal, guard)
      if (response.truncated && transport === 'udp') {
        // A truncated UDP answer must be asked again over TCP (RFC 7766).
        transport = 'tcp'
        response = await queryTcp(server, config.port, query, id, deadline.signal, guard)
      }
    } catch (error) {
      const latencyMs = deadline.elapsedMs()
      const failure = deadline.signal.aborted
        ? `${deadline.abortMessage()} waiting for ${where} to answer ${question}`
        : `${describeNetworkError(error, where)} (${transport} query ${question})`
      return concludeCheck({
        context,
        observed: { connected: false, responseTimeMs: latencyMs },
        latencyMs,
        summary: failure,
        failure,
      })
    }
    const latencyMs = deadline.elapsedMs()
    const answers = response.answers
      .filter((answer) => answer.type === config.recordType)
      .map(formatAnswer)
    const address =
      config.recordType === 'A' || config.recordType === 'AAAA' ? answers[0] : undefined
    const problems: string[] = []
    if (context.conditions.length === 0 && response.rcode === 'NOERROR' && answers.length === 0) {
      problems.push(`no ${config.recordType} records in the answer`)
    }
    const missing = (config.expectedAnswers ?? []).filter(
      (expected) =>
        !answers.some((answer) => answer.toLowerCase() === bare(expected).toLowerCase()),
    )
    if (missing.length > 0) problems.push(`expected ${missing.join(', ')} among the answers`)
    const shown = answers.length > 0 ? `: ${answers.join(', ')}` : ''
    return concludeCheck({
      context,
      defaults: ['[DNS_RCODE] == NOERROR'],
      observed: {
        dnsRcode: response.rcode,
        body: answers.join(', '),
        responseTimeMs: latencyMs,
        connected: true,
        ...(address !== undefined ? { ip: address } : {}),
      },
      latencyMs,
      summary: `${question} ${response.rcode}${shown}`,
      problems,
    })
  },
})

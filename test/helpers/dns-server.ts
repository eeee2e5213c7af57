import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'
import * as dnsPacket from 'dns-packet'

/** One resource record the server knows; `data` is in dns-packet's shape for the type. */
export interface DnsRecord {
  name: string
  type: dnsPacket.RecordType
  data: unknown
  ttl?: number
}

/** How the loopback DNS server behaves beyond answering its records. */
export interface DnsServerOptions {
  records: DnsRecord[]
  /** Names answered with SERVFAIL. */
  servfail?: string[]
  /** Names never answered, to test timeouts. */
  silent?: string[]
  /** Names whose UDP answer has the TC bit and no records, so the client must retry over TCP. */
  truncate?: string[]
  /** Called with each question before it is answered, so a test can change `records` (rebinding). */
  onQuery?: (name: string, type: string) => void
}

/** A query the server received. */
export interface ReceivedQuery {
  name: string
  type: string
  transport: 'udp' | 'tcp'
}

/** A real DNS server on 127.0.0.1, UDP and TCP on the same port. */
export interface LoopbackDnsServer {
  port: number
  queries: ReceivedQuery[]
  close(): Promise<void>
}

const rcodes = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const

function answer(
  query: dnsPacket.DecodedPacket,
  options: DnsServerOptions,
  transport: 'udp' | 'tcp',
): Buffer | undefined {
  const question = query.questions?.[0]
  if (!question) return undefined
  const name = question.name.toLowerCase()
  if (options.silent?.includes(name)) return undefined
  const base = { type: 'response' as const, id: query.id ?? 0, questions: [question] }
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE
  if (options.servfail?.includes(name)) {
    return dnsPacket.encode({ ...base, flags: flags | rcodes.SERVFAIL, answers: [] })
  }
  if (transport === 'udp' && options.truncate?.includes(name)) {
    return dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] })
  }
  const known = options.records.filter((record) => record.name.toLowerCase() === name)
  if (known.length === 0) {
    return dnsPacket.encode({ ...base, flags: flags | rcodes.NXDOMAIN, answers: [] })
  }
  const matching = known.filter((record) => record.type === question.type)
  const records =
    matching.length > 0 || question.type === 'CNAME'
      ? matching
      : known
          .filter((record) => record.type === 'CNAME')
          .flatMap((cname) => [
            cname,
            ...options.records.filter(
              (record) =>
                record.name.toLowerCase() === String(cname.data).toLowerCase() &&
                record.type === question.type,
            ),
          ])
  const answers = records.map(
    (record) =>
      ({
        name: record.name,
        type: record.type,
        ttl: record.ttl ?? 60,
        data: record.data,
      }) as dnsPacket.Answer,
  )
  return dnsPacket.encode({ ...base, flags, answers })
}

function bindUdp(socket: UdpSocket, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve(socket.address().port)
    })
  })
}

function listenTcp(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Starts a DNS server on 127.0.0.1 that answers from `options.records`. */
export async function startDnsServer(options: DnsServerOptions): Promise<LoopbackDnsServer> {
  const queries: ReceivedQuery[] = []
  const sockets = new Set<Socket>()
  const record = (query: dnsPacket.DecodedPacket, transport: 'udp' | 'tcp') => {
    const question = query.questions?.[0]
    if (!question) return
    queries.push({ name: question.name, type: question.type, transport })
    options.onQuery?.(question.name.toLowerCase(), question.type)
  }
  const tcp = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0)
        const query = dnsPacket.decode(buffered.subarray(2, 2 + length))
        buffered = buffered.subarray(2 + length)
        record(query, 'tcp')
        const response = answer(query, options, 'tcp')
        if (response) {
          const prefix = Buffer.alloc(2)
          prefix.writeUInt16BE(response.length)
          socket.write(Buffer.concat([prefix, response]))
        }
      }
    })
  })
  // UDP takes an ephemeral port first; TCP then needs the same number, which is rarely taken.
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4')
    const port = await bindUdp(udp, 0)
    try {
      await listenTcp(tcp, port)
    } catch (error) {
      udp.close()
      if (attempt < 5) continue
      throw error
    }
    udp.on('message', (message, remote) => {
      let query: dnsPacket.DecodedPacket
      try {
        query = dnsPacket.decode(message)
      } catch {
        return
      }
      record(query, 'udp')
      const response = answer(query, options, 'udp')
      if (response) udp.send(response, remote.port, remote.address)
    })
    return {
      port,
      queries,
      close: async () => {
        for (const socket of sockets) socket.destroy()
        await new Promise<void>((resolve) => udp.close(() => resolve()))
        await new Promise<void>((resolve) => tcp.close(() => resolve()))
      },
    }
  }
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDnsServer, type LoopbackDnsServer } from '../../test/helpers/dns-server.js'
import { dnsProbe, queryName } from './dns.js'
import type { ProbeContext } from './probe.js'

let server: LoopbackDnsServer

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return dnsProbe.run(
    dnsProbe.configSchema.parse({ server: '127.0.0.1', port: server.port, ...input }),
    {
      signal: new AbortController().signal,
      timeoutMs: 3_000,
      conditions: [],
      ...overrides,
    },
  )
}

beforeAll(async () => {
  server = await startDnsServer({
    records: [
      { name: 'web.keel.test', type: 'A', data: '192.0.2.10' },
      { name: 'web.keel.test', type: 'A', data: '192.0.2.11' },
      { name: 'web.keel.test', type: 'AAAA', data: '2001:db8::10' },
      { name: 'www.keel.test', type: 'CNAME', data: 'web.keel.test' },
      { name: 'keel.test', type: 'MX', data: { preference: 10, exchange: 'mail.keel.test' } },
      { name: 'keel.test', type: 'TXT', data: ['v=spf1 ', '-all'] },
      { name: 'keel.test', type: 'NS', data: 'ns1.keel.test' },
      {
        name: 'keel.test',
        type: 'SOA',
        data: {
          mname: 'ns1.keel.test',
          rname: 'hostmaster.keel.test',
          serial: 2024010101,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: 60,
        },
      },
      { name: '10.2.0.192.in-addr.arpa', type: 'PTR', data: 'web.keel.test' },
      {
        name: '_sip._tcp.keel.test',
        type: 'SRV',
        data: { priority: 0, weight: 5, port: 5060, target: 'sip.keel.test' },
      },
      { name: 'big.keel.test', type: 'A', data: '192.0.2.99' },
    ],
    servfail: ['broken.keel.test'],
    silent: ['silent.keel.test'],
    truncate: ['big.keel.test'],
  })
})

afterAll(async () => {
  await server?.close()
})

describe('dnsProbe', () => {
  it.each<[string, string, string, string]>([
    ['A', 'web.keel.test', 'A', 'A web.keel.test NOERROR: 192.0.2.10, 192.0.2.11'],
    ['AAAA', 'web.keel.test', 'AAAA', 'AAAA web.keel.test NOERROR: 2001:db8::10'],
    ['CNAME', 'www.keel.test', 'CNAME', 'CNAME www.keel.test NOERROR: web.keel.test'],
    [
      'an A through a CNAME',
      'www.keel.test',
      'A',
      'A www.keel.test NOERROR: 192.0.2.10, 192.0.2.11',
    ],
    ['MX', 'keel.test', 'MX', 'MX keel.test NOERROR: 10 mail.keel.test'],
    ['TXT', 'keel.test', 'TXT', 'TXT keel.test NOERROR: v=spf1 -all'],
    ['NS', 'keel.test', 'NS', 'NS keel.test NOERROR: ns1.keel.test'],
    [
      'SOA',
      'keel.test',
      'SOA',
      'SOA keel.test NOERROR: ns1.keel.test hostmaster.keel.test 2024010101 3600 600 86400 60',
    ],
    [
      'PTR of an IP address',
      '192.0.2.10',
      'PTR',
      'PTR 10.2.0.192.in-addr.arpa NOERROR: web.keel.test',
    ],
    [
      'SRV',
      '_sip._tcp.keel.test',
      'SRV',
      'SRV _sip._tcp.keel.test NOERROR: 0 5 5060 sip.keel.test',
    ],
  ])('answers %s', async (_name, query, recordType, message) => {
    const outcome = await check({ query, recordType })
    expect(outcome).toMatchObject({ status: 'up', message })
  })

  it('is down for NXDOMAIN by default', async () => {
    const outcome = await check({ query: 'nope.keel.test' })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'A nope.keel.test NXDOMAIN; [DNS_RCODE] (NXDOMAIN) == NOERROR',
    })
  })

  it('is up for NXDOMAIN when the conditions expect it', async () => {
    const outcome = await check(
      { query: 'nope.keel.test' },
      { conditions: ['[DNS_RCODE] == NXDOMAIN'] },
    )
    expect(outcome.status).toBe('up')
  })

  it('is down for SERVFAIL', async () => {
    const outcome = await check({ query: 'broken.keel.test' })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain('SERVFAIL')
  })

  it('is down when the name has no records of the type asked', async () => {
    const outcome = await check({ query: 'keel.test', recordType: 'AAAA' })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'AAAA keel.test NOERROR; no AAAA records in the answer',
    })
  })

  it.each([
    ['all expected answers present', ['192.0.2.11', '192.0.2.10'], 'up'],
    ['one expected answer missing', ['192.0.2.10', '192.0.2.12'], 'down'],
  ])('judges %s', async (_name, expectedAnswers, status) => {
    const outcome = await check({ query: 'web.keel.test', expectedAnswers })
    expect(outcome.status).toBe(status)
  })

  it('names the missing expected answer', async () => {
    const outcome = await check({ query: 'web.keel.test', expectedAnswers: ['192.0.2.12'] })
    expect(outcome.message).toBe(
      'A web.keel.test NOERROR: 192.0.2.10, 192.0.2.11; expected 192.0.2.12 among the answers',
    )
  })

  it('offers [BODY] and [IP] to conditions', async () => {
    const outcome = await check(
      { query: 'web.keel.test' },
      {
        conditions: ['[BODY] == pat(*192.0.2.11*)', '[IP] == 192.0.2.10', '[DNS_RCODE] == NOERROR'],
      },
    )
    expect(outcome.status).toBe('up')
  })

  it('retries a truncated UDP answer over TCP', async () => {
    const before = server.queries.length
    const outcome = await check({ query: 'big.keel.test' })
    expect(outcome).toMatchObject({ status: 'up', message: 'A big.keel.test NOERROR: 192.0.2.99' })
    expect(server.queries.slice(before).map((query) => query.transport)).toEqual(['udp', 'tcp'])
  })

  it('queries over TCP when asked', async () => {
    const before = server.queries.length
    const outcome = await check({ query: 'web.keel.test', transport: 'tcp' })
    expect(outcome.status).toBe('up')
    expect(server.queries.slice(before).map((query) => query.transport)).toEqual(['tcp'])
  })

  it('times out when the server never answers', async () => {
    const outcome = await check({ query: 'silent.keel.test' }, { timeoutMs: 300 })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `timed out after 300ms waiting for 127.0.0.1:${server.port} to answer A silent.keel.test`,
    })
  })

  it.each([
    [
      'an IPv4 address',
      { query: '192.0.2.10', recordType: 'PTR' as const },
      '10.2.0.192.in-addr.arpa',
    ],
    [
      'an IPv6 address',
      { query: '2001:db8::1', recordType: 'PTR' as const },
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    ],
    ['a name with a trailing dot', { query: 'keel.test.', recordType: 'A' as const }, 'keel.test'],
    [
      'an IP address for an A query',
      { query: '192.0.2.10', recordType: 'A' as const },
      '192.0.2.10',
    ],
  ])('turns %s into the name to query', (_name, config, name) => {
    expect(queryName(config)).toBe(name)
  })

  it('rejects a resolver that is not an IP address', () => {
    const result = dnsProbe.configSchema.safeParse({ query: 'keel.test', server: 'dns.example' })
    expect(result.error?.issues[0]?.message).toBe(
      'server must be an IP address, such as 127.0.0.53',
    )
  })
})

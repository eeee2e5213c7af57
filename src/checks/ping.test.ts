import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { requireOrSkip } from '../../test/helpers/require-or-skip.js'
import { findPingBinary, parsePingOutput, pingProbe, type PingResult } from './ping.js'
import type { ProbeContext } from './probe.js'

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return pingProbe.run(pingProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
    ...overrides,
  })
}

const hasPing = (await findPingBinary()) !== undefined
if (!hasPing) requireOrSkip('ping', 'no ping binary was found, so the ICMP tests are skipped')
let listener: ListeningServer

beforeAll(async () => {
  listener = await listenOnLoopback(createServer((socket) => socket.on('error', () => undefined)))
})

afterAll(async () => {
  await listener?.close()
})

describe.skipIf(!hasPing)('pingProbe with ICMP (needs the system ping binary)', () => {
  it('is up for 127.0.0.1 and says ICMP was used', async () => {
    const outcome = await check({ host: '127.0.0.1', method: 'icmp', count: 2 })
    expect(outcome.status).toBe('up')
    expect(outcome.message).toMatch(/^ICMP ping 127\.0\.0\.1: 2\/2 replies, average [\d.]+ms$/)
    expect(outcome.metrics).toEqual([
      { label: 'rta', value: expect.any(Number), unit: 'ms', min: 0 },
      { label: 'pl', value: 0, unit: '%', min: 0, max: 100 },
    ])
  })

  it('prefers ICMP in auto mode', async () => {
    const outcome = await check({ host: '127.0.0.1', count: 1 })
    expect(outcome.message).toMatch(/^ICMP ping 127\.0\.0\.1: 1\/1 replies/)
  })

  it('offers [RESPONSE_TIME], [IP] and [CONNECTED] to conditions', async () => {
    const outcome = await check(
      { host: '127.0.0.1', method: 'icmp', count: 1 },
      {
        conditions: [
          '[RESPONSE_TIME] < 1s',
          '[IP] == 127.0.0.1',
          '[CONNECTED] == true',
          '[IP] == 10.0.0.1',
        ],
      },
    )
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(/; \[IP\] \(127\.0\.0\.1\) == 10\.0\.0\.1$/)
  })
})

describe('pingProbe with TCP', () => {
  it('is up when the port accepts connections and says TCP was used', async () => {
    const outcome = await check({ host: '127.0.0.1', method: 'tcp', port: listener.port, count: 2 })
    expect(outcome.status).toBe('up')
    expect(outcome.message).toMatch(
      new RegExp(`^TCP ping 127\\.0\\.0\\.1:${listener.port}: 2/2 replies`),
    )
  })

  it('is down when the port refuses', async () => {
    const port = await closedPort()
    const outcome = await check({ host: '127.0.0.1', method: 'tcp', port, count: 2 })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `TCP ping 127.0.0.1:${port}: connection refused by 127.0.0.1:${port}`,
      metrics: [{ label: 'pl', value: 100 }],
    })
  })
})

describe('parsePingOutput', () => {
  it.each<[string, string, PingResult | undefined]>([
    [
      'iputils',
      'PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.046 ms\n\n--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 203ms\nrtt min/avg/max/mdev = 0.046/0.047/0.049/0.001 ms\n',
      { sent: 2, received: 2, averageMs: 0.047, ip: '127.0.0.1' },
    ],
    [
      'iputils with every packet lost',
      'PING db.internal (10.0.0.5) 56(84) bytes of data.\n\n--- db.internal ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2047ms\n\n',
      { sent: 3, received: 0, ip: '10.0.0.5' },
    ],
    [
      'BusyBox',
      'PING 10.0.0.1 (10.0.0.1): 56 data bytes\n64 bytes from 10.0.0.1: seq=0 ttl=64 time=0.081 ms\n\n--- 10.0.0.1 ping statistics ---\n1 packets transmitted, 1 packets received, 0% packet loss\nround-trip min/avg/max = 0.081/0.081/0.081 ms\n',
      { sent: 1, received: 1, averageMs: 0.081 },
    ],
    [
      'BSD',
      'PING example.org (192.0.2.7): 56 data bytes\n\n--- example.org ping statistics ---\n2 packets transmitted, 1 packets received, 50.0% packet loss\nround-trip min/avg/max/stddev = 10.101/10.101/10.101/0.000 ms\n',
      { sent: 2, received: 1, averageMs: 10.101 },
    ],
    ['an error with no statistics', 'ping: unknown host\n', undefined],
  ])('reads %s output', (_name, output, expected) => {
    const parsed = parsePingOutput(output)
    if (expected === undefined) expect(parsed).toBeUndefined()
    else expect(parsed).toMatchObject(expected)
  })
})

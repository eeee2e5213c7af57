import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import type { ProbeContext } from './probe.js'
import { tcpProbe } from './tcp.js'

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return tcpProbe.run(tcpProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 3_000,
    conditions: [],
    ...overrides,
  })
}

let echo: ListeningServer
let banner: ListeningServer
let silent: ListeningServer
let hangup: ListeningServer

beforeAll(async () => {
  echo = await listenOnLoopback(
    createServer((socket) => {
      socket.on('data', (data) => {
        if (data.toString().startsWith('PING')) socket.write('+PONG\r\n')
        else socket.write('-ERR unknown\r\n')
      })
      socket.on('error', () => undefined)
    }),
  )
  banner = await listenOnLoopback(
    createServer((socket) => {
      socket.on('error', () => undefined)
      socket.write('SSH-2.0-OpenSSH_9.2\r\n')
    }),
  )
  silent = await listenOnLoopback(createServer((socket) => socket.on('error', () => undefined)))
  hangup = await listenOnLoopback(createServer((socket) => socket.end('bye\r\n')))
})

afterAll(async () => {
  await Promise.all([echo, banner, silent, hangup].map((server) => server?.close()))
})

describe('tcpProbe', () => {
  it('is up when the port accepts a connection', async () => {
    const outcome = await check({ host: '127.0.0.1', port: silent.port })
    expect(outcome).toMatchObject({
      status: 'up',
      message: `connected to 127.0.0.1:${silent.port}`,
    })
    expect(outcome.latencyMs).toBeGreaterThan(0)
  })

  it('is down with the refusal in the message when the port is closed', async () => {
    const port = await closedPort()
    const outcome = await check({ host: '127.0.0.1', port })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by 127.0.0.1:${port}`,
    })
  })

  it('is up for a closed port that the conditions want closed', async () => {
    const port = await closedPort()
    const outcome = await check(
      { host: '127.0.0.1', port },
      { conditions: ['[CONNECTED] == false'] },
    )
    expect(outcome.status).toBe('up')
  })

  it('sends a string and finds the expected reply', async () => {
    const outcome = await check({
      host: '127.0.0.1',
      port: echo.port,
      send: 'PING\r\n',
      expect: '+PONG',
    })
    expect(outcome.status).toBe('up')
  })

  it('is down when the reply differs, showing what arrived', async () => {
    const outcome = await check(
      { host: '127.0.0.1', port: echo.port, send: 'HELLO\r\n', expect: '+PONG' },
      { timeoutMs: 300 },
    )
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connected to 127.0.0.1:${echo.port}; expected "+PONG" but received "-ERR unknown\\r\\n" (timed out after 300ms)`,
    })
  })

  it('is down when the server hangs up before the expected text', async () => {
    const outcome = await check({ host: '127.0.0.1', port: hangup.port, expect: 'welcome' })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(
      'expected "welcome" but received "bye\\r\\n" (the server closed the connection)',
    )
  })

  it('is down when nothing arrives before the timeout', async () => {
    const outcome = await check(
      { host: '127.0.0.1', port: silent.port, expect: 'x' },
      { timeoutMs: 200 },
    )
    expect(outcome.message).toContain('expected "x" but received nothing (timed out after 200ms)')
  })

  it('reads a banner for [BODY] conditions', async () => {
    const ok = await check(
      { host: '127.0.0.1', port: banner.port },
      { conditions: ['[BODY] == pat(SSH-2.0-*)'] },
    )
    const bad = await check(
      { host: '127.0.0.1', port: banner.port },
      { conditions: ['[BODY] == pat(HTTP*)'] },
    )
    expect([ok.status, bad.status]).toEqual(['up', 'down'])
  })

  it('offers [IP] and [CONNECTED] to conditions', async () => {
    const outcome = await check(
      { host: 'localhost', port: silent.port },
      { conditions: ['[CONNECTED] == true', '[IP] == 127.0.0.1', '[RESPONSE_TIME] < 10s'] },
    )
    expect(outcome.status).toBe('up')
  })

  it.each([
    ['a host starting with -', { host: '-oProxy', port: 22 }],
    ['a host with a space', { host: 'a b', port: 22 }],
    ['port 0', { host: '127.0.0.1', port: 0 }],
    ['a port above 65535', { host: '127.0.0.1', port: 70_000 }],
  ])('rejects %s', (_name, input) => {
    expect(tcpProbe.configSchema.safeParse(input).success).toBe(false)
  })
})

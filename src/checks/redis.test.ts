import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import type { ProbeContext } from './probe.js'
import { redisProbe } from './redis.js'

// The development Redis on 127.0.0.1:6379, without a password for the default user.
const server = { host: '127.0.0.1', port: 6379 }

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return redisProbe.run(redisProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
    ...overrides,
  })
}

let silent: ListeningServer

beforeAll(async () => {
  silent = await listenOnLoopback(createServer((socket) => socket.on('error', () => undefined)))
})

afterAll(async () => {
  await silent?.close()
})

describe('redisProbe', () => {
  it('is up after PING and shows the reply', async () => {
    const outcome = await check(server)
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'redis at 127.0.0.1:6379: PING returned "PONG"',
    })
  })

  it('connects with a URL', async () => {
    const outcome = await check({ url: 'redis://127.0.0.1:6379/1' })
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'redis at 127.0.0.1:6379/1: PING returned "PONG"',
    })
  })

  it.each([
    ['INFO with a glob', 'INFO replication', '[BODY] == pat(*role:master*)', 'up'],
    ['INFO with a failing glob', 'INFO replication', '[BODY] == pat(*role:slave*)', 'down'],
    ['an array command', ['ECHO', 'hello world'], '[BODY] == "hello world"', 'up'],
    ['a missing key', 'GET keel:no-such-key', '[BODY] == null', 'up'],
  ])('judges %s', async (_name, command, condition, status) => {
    const outcome = await check({ ...server, command }, { conditions: [condition] })
    expect(outcome.status).toBe(status)
  })

  it('is down when the command fails', async () => {
    const outcome = await check({ ...server, command: 'NOSUCHCOMMAND' })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(
      "connected to redis at 127.0.0.1:6379; NOSUCHCOMMAND failed: ERR unknown command 'NOSUCHCOMMAND'",
    )
  })

  it.each([
    [
      'a password the server does not expect',
      { password: 'wrong' },
      'ERR AUTH <password> called without any password configured',
    ],
    ['a wrong user and password', { username: 'keel-nobody', password: 'wrong' }, 'WRONGPASS'],
  ])('is down for %s', async (_name, credentials, reason) => {
    const outcome = await check({ ...server, ...credentials })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(reason)
    expect(outcome.message).toContain('redis at 127.0.0.1:6379')
    expect(outcome.message).toMatch(/; check username and password$/)
  })

  it('is down when nothing listens on the port', async () => {
    const port = await closedPort()
    const outcome = await check({ ...server, port })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by redis at 127.0.0.1:${port}`,
    })
  })

  it('times out against a server that never answers', async () => {
    const outcome = await check({ ...server, port: silent.port }, { timeoutMs: 300 })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain('timed out after 300ms')
  })

  it('rejects a url combined with a password', () => {
    const config = redisProbe.configSchema.parse({ url: 'redis://127.0.0.1', password: 'x' })
    expect(redisProbe.validate?.(config)).toEqual([
      {
        path: ['password'],
        message: 'password cannot be combined with url; put it in the url or drop the url',
      },
    ])
  })
})

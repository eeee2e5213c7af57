import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort } from '../../test/helpers/listen.js'
import { postgresProbe } from './postgres.js'
import type { ProbeContext } from './probe.js'

// The development PostgreSQL (trust authentication, so a wrong password cannot be tested here;
// an unknown role and an unknown database stand in for bad credentials).
const server = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return postgresProbe.run(postgresProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
    ...overrides,
  })
}

let admin: pg.Client

beforeAll(async () => {
  admin = new pg.Client(server)
  await admin.connect()
})

afterAll(async () => {
  await admin?.end()
})

async function monitorConnections(): Promise<number> {
  const result = await admin.query<{ count: string }>(
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keel-monitor' AND pid <> pg_backend_pid()",
  )
  return Number(result.rows[0]?.count)
}

describe('postgresProbe', () => {
  it('is up after SELECT 1 and shows the result', async () => {
    const outcome = await check(server)
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'postgres at postgres@127.0.0.1:5432/test: SELECT 1 returned "1"',
    })
  })

  it('connects with a URL', async () => {
    const outcome = await check({
      url: 'postgres://postgres@127.0.0.1:5432/test',
      query: 'SELECT current_database()',
    })
    expect(outcome).toMatchObject({
      status: 'up',
      message: expect.stringContaining('returned "test"'),
    })
  })

  it.each([
    ['a matching value', "SELECT 'primary'", '[BODY] == primary', 'up'],
    ['a number compared numerically', 'SELECT count(*) FROM pg_database', '[BODY] > 0', 'up'],
    ['a different value', "SELECT 'replica'", '[BODY] == primary', 'down'],
    ['a query returning no rows', 'SELECT 1 WHERE false', '[BODY] == 1', 'down'],
  ])('judges %s with [BODY]', async (_name, query, condition, status) => {
    const outcome = await check({ ...server, query }, { conditions: [condition] })
    expect(outcome.status).toBe(status)
  })

  it('is down when the query fails and says why', async () => {
    const outcome = await check({ ...server, query: 'SELECT * FROM keel_no_such_table' })
    expect(outcome).toMatchObject({
      status: 'down',
      message:
        'connected to postgres at postgres@127.0.0.1:5432/test; query failed: relation "keel_no_such_table" does not exist',
    })
  })

  it.each([
    [
      'an unknown role',
      { ...server, user: 'keel_nobody', password: 'wrong' },
      'role "keel_nobody" does not exist',
    ],
    [
      'an unknown database',
      { ...server, database: 'keel_no_such_db' },
      'database "keel_no_such_db" does not exist',
    ],
  ])('is down for %s', async (_name, input, reason) => {
    const outcome = await check(input)
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(reason)
  })

  it('is down when nothing listens on the port', async () => {
    const port = await closedPort()
    const outcome = await check({ ...server, port })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by postgres at postgres@127.0.0.1:${port}/test`,
    })
  })

  it('times out a slow query', async () => {
    const outcome = await check({ ...server, query: 'SELECT pg_sleep(10)' }, { timeoutMs: 300 })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'connected to postgres at postgres@127.0.0.1:5432/test; query timed out after 300ms',
    })
  })

  it('closes its connection after every run, also after failures', async () => {
    await check(server)
    await check({ ...server, query: 'SELECT * FROM keel_no_such_table' })
    await check({ ...server, query: 'SELECT pg_sleep(10)' }, { timeoutMs: 200 })
    let open = await monitorConnections()
    for (let i = 0; i < 100 && open > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      open = await monitorConnections()
    }
    expect(open).toBe(0)
  })

  it('rejects a url combined with a host', () => {
    const config = postgresProbe.configSchema.parse({
      url: 'postgres://127.0.0.1/test',
      host: 'db',
    })
    expect(postgresProbe.validate?.(config)).toEqual([
      {
        path: ['host'],
        message: 'host cannot be combined with url; put it in the url or drop the url',
      },
    ])
  })

  it('marks password and url as secret', () => {
    expect(postgresProbe.secretFields).toEqual(['password', 'url'])
  })
})

import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort } from '../../test/helpers/listen.js'
import { mysqlProbe } from './mysql.js'
import type { ProbeContext } from './probe.js'

// The development MariaDB: root with an empty password, database `test`.
const server = { host: '127.0.0.1', port: 3306, user: 'root', database: 'test' }

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return mysqlProbe.run(mysqlProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
    ...overrides,
  })
}

let admin: mysql.Connection

beforeAll(async () => {
  admin = await mysql.createConnection(server)
})

afterAll(async () => {
  await admin?.end()
})

async function sleepingQueries(marker: string): Promise<number> {
  const [rows] = await admin.query(
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
    [`%${marker}%`],
  )
  return Number((rows as { n: number }[])[0]?.n)
}

describe('mysqlProbe', () => {
  it('is up after SELECT 1 and shows the result', async () => {
    const outcome = await check(server)
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'mysql at root@127.0.0.1:3306/test: SELECT 1 returned "1"',
    })
  })

  it('connects with a URL', async () => {
    const outcome = await check({
      url: 'mysql://root@127.0.0.1:3306/test',
      query: 'SELECT DATABASE()',
    })
    expect(outcome).toMatchObject({
      status: 'up',
      message: expect.stringContaining('returned "test"'),
    })
  })

  it.each([
    ['a matching value', "SELECT 'primary'", '[BODY] == primary', 'up'],
    ['a variable compared numerically', 'SELECT @@port', '[BODY] == 3306', 'up'],
    ['a different value', "SELECT 'replica'", '[BODY] == primary', 'down'],
    ['a query returning no rows', 'SELECT 1 FROM DUAL WHERE 1 = 0', 'has([BODY]) == true', 'down'],
  ])('judges %s with [BODY]', async (_name, query, condition, status) => {
    const outcome = await check({ ...server, query }, { conditions: [condition] })
    expect(outcome.status).toBe(status)
  })

  it('is down when the query fails and says why', async () => {
    const outcome = await check({ ...server, query: 'SELECT * FROM keel_no_such_table' })
    expect(outcome).toMatchObject({
      status: 'down',
      message:
        "connected to mysql at root@127.0.0.1:3306/test; query failed: Table 'test.keel_no_such_table' doesn't exist",
    })
  })

  it('is down for a wrong password', async () => {
    const outcome = await check({ ...server, password: 'wrong' })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(
      "Access denied for user 'root'@'127.0.0.1' (using password: YES)",
    )
    expect(outcome.message).not.toContain('wrong')
  })

  it('is down for an unknown database', async () => {
    const outcome = await check({ ...server, database: 'keel_no_such_db' })
    expect(outcome.message).toContain("Unknown database 'keel_no_such_db'")
    expect(outcome.message).toMatch(/; check database$/)
  })

  it('is down when nothing listens on the port', async () => {
    const port = await closedPort()
    const outcome = await check({ ...server, port })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by mysql at root@127.0.0.1:${port}/test`,
    })
  })

  it('times out a slow query and leaves nothing running on the server', async () => {
    const outcome = await check(
      { ...server, query: 'SELECT SLEEP(10) AS keel_slow_marker' },
      { timeoutMs: 300 },
    )
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'connected to mysql at root@127.0.0.1:3306/test; query timed out after 300ms',
    })
    let running = await sleepingQueries('keel_slow_marker')
    for (let i = 0; i < 100 && running > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      running = await sleepingQueries('keel_slow_marker')
    }
    expect(running).toBe(0)
  })
})

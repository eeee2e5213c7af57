/**
 * `npm run bench:ingest`: PagerDuty Events v2 and Alertmanager webhook events against a real Keel
 * API (fastify listening on loopback, in this process) from a separate load-generator process
 * (undici, keep-alive), on SQLite and, when a PostgreSQL URL is set, on PostgreSQL. Every event
 * is durable before its 2xx (inbox row and alert upsert in one transaction); dedup keys / label
 * sets cycle over BENCH_KEYS distinct alerts and every tenth event resolves. Prints, per store and
 * format: the most events/s at BENCH_CONCURRENCY requests in flight with p50/p99 accept latency,
 * and p50/p99 at a fixed offered load of BENCH_RATE events/s, plus Keel's CPU per event.
 *
 * Options (environment): BENCH_SECONDS=10, BENCH_CONCURRENCY=32, BENCH_RATE=1000,
 * BENCH_KEYS=1000, BENCH_STORES=sqlite,postgres, BENCH_POSTGRES_URL (or KEEL_TEST_POSTGRES_URL).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import pino from 'pino'
import { createMetrics } from '../src/api/metrics.js'
import { buildApi } from '../src/api/server.js'
import { createIntegration } from '../src/services/integrations.js'
import { openStore, type Store, type StoreLocation } from '../src/store/dialect.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32)
const rate = Number(process.env.BENCH_RATE ?? 1000)
const keys = Number(process.env.BENCH_KEYS ?? 1000)
const postgresUrl = process.env.BENCH_POSTGRES_URL ?? process.env.KEEL_TEST_POSTGRES_URL
const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',')
const pgPool = Number(process.env.BENCH_PG_POOL ?? 10)
const warmupMs = 2_000

interface LoadResult {
  statuses: Record<string, number>
  latencies: number[]
  measuredMs: number
  next: number
  accepted: number
}

interface Job {
  origin: string
  path: string
  format: 'pagerduty' | 'alertmanager'
  key: string
  keys: number
  concurrency: number
  warmupMs: number
  durationMs: number
  rate?: number
  offset: number
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number
}

async function startLoad(): Promise<{ child: ChildProcess; run(job: Job): Promise<LoadResult> }> {
  const child = fork(fileURLToPath(new URL('./ingest-load.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  await new Promise<void>((resolve) => child.once('message', () => resolve()))
  return {
    child,
    run: (job) =>
      new Promise((resolve) => {
        child.once('message', (result: LoadResult) => resolve(result))
        child.send(job)
      }),
  }
}

async function freshStore(kind: string): Promise<{ store: Store; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keel-bench-ingest-'))
    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    return {
      store,
      drop: async () => {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const name = `keel_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(postgresUrl as string)
  url.pathname = `/${name}`
  const location: StoreLocation = { driver: 'postgres', url: url.toString(), poolSize: pgPool }
  const store = await openStore(location)
  return {
    store,
    drop: async () => {
      await store.close()
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

async function inboxCount(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('ingest_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

interface Row {
  store: string
  format: string
  maxPerSecond: number
  maxP50: number
  maxP99: number
  cpuMsPerEvent: number
  fixedAchieved: number
  fixedP50: number
  fixedP99: number
  errors: number
  inboxMatches: boolean
}

async function benchStore(
  kind: string,
  load: Awaited<ReturnType<typeof startLoad>>,
): Promise<Row[]> {
  const { store, drop } = await freshStore(kind)
  const clock = { now: () => Date.now() }
  const app = await buildApi({
    db: store.db,
    clock,
    log: pino({ level: 'warn' }),
    metrics: createMetrics(),
    // The benchmark measures Keel, not the per-key limit that protects it.
    ingest: { pagerDutyEventsPerMinute: 0 },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const actor = { name: 'bench', role: 'operator' as const }
  const pd = await createIntegration(
    { db: store.db, clock, actor },
    { id: 'pd', kind: 'pagerduty' },
  )
  const am = await createIntegration(
    { db: store.db, clock, actor },
    { id: 'am', kind: 'alertmanager' },
  )
  if (kind === 'postgres') {
    const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(
      store.db,
    )
    console.log(`postgres synchronous_commit = ${rows[0]?.synchronous_commit}`)
  }
  const rows: Row[] = []
  let offset = 0
  try {
    for (const format of ['pagerduty', 'alertmanager'] as const) {
      const base = {
        origin,
        format,
        path: format === 'pagerduty' ? '/v2/enqueue' : `/ingest/alertmanager/${am.key}`,
        key: pd.key,
        keys,
      }
      const warm = await load.run({
        ...base,
        concurrency,
        warmupMs,
        durationMs: 0,
        offset,
      })
      offset = warm.next
      const before = await inboxCount(store)
      const cpuBefore = process.cpuUsage()
      const max = await load.run({
        ...base,
        concurrency,
        warmupMs: 0,
        durationMs: seconds * 1000,
        offset,
      })
      const cpu = process.cpuUsage(cpuBefore)
      offset = max.next
      const fixed = await load.run({
        ...base,
        concurrency: Math.max(concurrency, 64),
        warmupMs: 0,
        durationMs: seconds * 1000,
        rate,
        offset,
      })
      offset = fixed.next
      const after = await inboxCount(store)
      const ok = (r: LoadResult) => Object.entries(r.statuses).filter(([s]) => s.startsWith('2'))
      const count = (r: LoadResult) => ok(r).reduce((n, [, c]) => n + c, 0)
      const errors = (r: LoadResult) =>
        Object.entries(r.statuses)
          .filter(([s]) => !s.startsWith('2'))
          .reduce((n, [, c]) => n + c, 0)
      rows.push({
        store: kind,
        format,
        maxPerSecond: count(max) / seconds,
        maxP50: percentile(max.latencies, 0.5),
        maxP99: percentile(max.latencies, 0.99),
        cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / Math.max(1, max.accepted),
        fixedAchieved: count(fixed) / seconds,
        fixedP50: percentile(fixed.latencies, 0.5),
        fixedP99: percentile(fixed.latencies, 0.99),
        errors: errors(max) + errors(fixed),
        inboxMatches: after - before === max.accepted + fixed.accepted,
      })
    }
  } finally {
    await app.close()
    await drop()
  }
  return rows
}

const fmt = (n: number, digits = 1) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–'

const load = await startLoad()
const results: Row[] = []
try {
  for (const kind of stores) {
    if (kind === 'postgres' && !postgresUrl) {
      console.log('postgres skipped: set BENCH_POSTGRES_URL or KEEL_TEST_POSTGRES_URL')
      continue
    }
    console.log(`benchmarking ${kind} …`)
    results.push(...(await benchStore(kind, load)))
  }
} finally {
  load.child.disconnect()
}

console.log(
  `\n${seconds} s windows, ${concurrency} requests in flight for the maximum, ${fmt(rate, 0)} events/s offered for the fixed load, ${keys} distinct alerts, one event per request\n`,
)
console.log(
  '| store | format | max events/s | p50 / p99 at max | Keel CPU per event | at ' +
    `${fmt(rate, 0)}/s: achieved | p50 / p99 | non-2xx | every 2xx in the inbox |`,
)
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(
    `| ${r.store} | ${r.format} | ${fmt(r.maxPerSecond, 0)} | ${fmt(r.maxP50)} / ${fmt(r.maxP99)} ms | ${fmt(r.cpuMsPerEvent, 3)} ms | ${fmt(r.fixedAchieved, 0)} | ${fmt(r.fixedP50)} / ${fmt(r.fixedP99)} ms | ${r.errors} | ${r.inboxMatches ? 'yes' : 'NO'} |`,
  )
}

/**
 * `npm run bench:checks`: runs N HTTP monitors at a 20 s interval against a local target for a
 * fixed window and prints checks/s achieved vs expected, CPU ms per check, RSS, p99 lateness, DB
 * bytes per check and restart-to-checking time. Where prometheus-blackbox-exporter is installed it
 * probes the same target the same number of times and prints the CPU ratio.
 *
 * Options (environment): BENCH_N="2000,20000", BENCH_SECONDS=60, BENCH_INTERVAL=20s.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pino from 'pino'
import { parseDuration } from '../src/core/time.js'
import { Scheduler } from '../src/engine/scheduler.js'
import { openStore } from '../src/store/dialect.js'
import { insertMonitor } from '../src/store/monitors.js'
import { runRetention } from '../src/engine/retention.js'

const clock = { now: () => Date.now() }
const log = pino({ level: 'warn' })
const sizes = (process.env.BENCH_N ?? '2000,20000').split(',').map(Number)
const windowMs = Number(process.env.BENCH_SECONDS ?? 60) * 1000
const intervalMs = parseDuration(process.env.BENCH_INTERVAL ?? '20s') ?? 20_000

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number
}

async function startTarget(): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL('./target-server.mjs', import.meta.url)), [], {
    stdio: 'ignore',
  })
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  )
  return { port, child }
}

function dbBytes(path: string): number {
  let total = 0
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(path + suffix).size
    } catch {
      // The WAL file exists only after the first write.
    }
  }
  return total
}

interface KeelFigures {
  n: number
  checks: number
  expected: number
  cpuMsPerCheck: number
  rssMb: number
  p99LatenessMs: number
  p50LatenessMs: number
  bytesPerCheck: number
  restartToClaimMs: number
  rawRowBytes: number
  rollupRowBytes: number
  restartToFirstCheckMs: number
  down: number
}

async function benchKeel(n: number, port: number): Promise<KeelFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'))
  const path = join(dir, 'keel.db')
  const store = await openStore({ driver: 'sqlite', path })
  const now = clock.now()
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < n; i++) {
      await insertMonitor(
        trx,
        {
          slug: `bench-${i}`,
          type: 'http',
          spec: {
            type: 'http',
            url: `http://127.0.0.1:${port}/m/${i}`,
            interval: intervalMs / 1000,
            timeout: 5,
          },
          source: 'api',
          paused: false,
        },
        now,
        now,
      )
    }
  })
  await sql`pragma wal_checkpoint(truncate)`.execute(store.db)
  let checks = 0
  let down = 0
  const lateness: number[] = []
  let firstCheckAt = 0
  const scheduler = new Scheduler({
    db: store.db,
    clock,
    log,
    owner: 'bench',
    concurrency: 1024,
    defaultChannels: () => [],
    onCheck: (o) => {
      if (!firstCheckAt) firstCheckAt = clock.now()
      checks++
      if (o.outcome.status !== 'up') down++
      if (lateness.length < 2_000_000) lateness.push(o.latenessMs)
    },
  })
  await scheduler.start()
  // Warm up over one interval so every monitor is past its jittered first check.
  await new Promise((r) => setTimeout(r, intervalMs))
  await scheduler.flush()
  checks = 0
  down = 0
  lateness.length = 0
  const bytesBefore = dbBytes(path)
  const cpuBefore = process.cpuUsage()
  let rssMax = 0
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 500)
  await new Promise((r) => setTimeout(r, windowMs))
  await scheduler.flush()
  const cpu = process.cpuUsage(cpuBefore)
  clearInterval(rssTimer)
  const measuredChecks = checks
  const bytesAfter = dbBytes(path)
  const tableBytes = async (names: string[]) => {
    const rows = await sql<{
      bytes: number
      name: string
    }>`select name, sum(pgsize) as bytes from dbstat group by name`.execute(store.db)
    return rows.rows
      .filter((r) => names.includes(r.name))
      .reduce((sum, r) => sum + Number(r.bytes), 0)
  }
  const count = async (table: 'check_results' | 'result_rollups') =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  const rawRowBytes =
    (await tableBytes(['check_results', 'check_results_monitor_time', 'check_results_time'])) /
    Math.max(1, await count('check_results'))
  await runRetention(
    store.db,
    { raw: 3_600_000, minute: 2 * 3_600_000, hour: 90 * 86_400_000, day: 730 * 86_400_000 },
    clock.now() + 120_000,
    'bench',
  )
  const rollupRowBytes =
    (await tableBytes(['result_rollups', 'result_rollups_time'])) /
    Math.max(1, await count('result_rollups'))
  await scheduler.stop(2_000)

  // Restart: a new scheduler with the same owner takes the monitors back and resumes their schedule.
  firstCheckAt = 0
  const restartAt = clock.now()
  const again = new Scheduler({
    db: store.db,
    clock,
    log,
    owner: 'bench',
    concurrency: 1024,
    defaultChannels: () => [],
    onCheck: () => {
      if (!firstCheckAt) firstCheckAt = clock.now()
    },
  })
  await again.start()
  const claimedMs = clock.now() - restartAt
  const claimedAll = again.size
  while (!firstCheckAt && clock.now() - restartAt < 30_000)
    await new Promise((r) => setTimeout(r, 10))
  const firstMs = firstCheckAt - restartAt
  await again.stop(2_000)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  if (claimedAll !== n) log.warn(`restart claimed ${claimedAll} of ${n} monitors`)
  return {
    n,
    checks: measuredChecks,
    expected: (n * windowMs) / intervalMs,
    cpuMsPerCheck: (cpu.user + cpu.system) / 1000 / Math.max(1, measuredChecks),
    rssMb: rssMax / 1024 / 1024,
    p99LatenessMs: percentile(lateness, 0.99),
    p50LatenessMs: percentile(lateness, 0.5),
    bytesPerCheck: (bytesAfter - bytesBefore) / Math.max(1, measuredChecks),
    rawRowBytes,
    rollupRowBytes,
    restartToClaimMs: claimedMs,
    restartToFirstCheckMs: firstMs,
    down,
  }
}

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / 100
}

async function benchBlackbox(
  n: number,
  port: number,
): Promise<{ cpuMsPerProbe: number; probes: number } | undefined> {
  const binary = '/usr/bin/prometheus-blackbox-exporter'
  try {
    statSync(binary)
  } catch {
    return undefined
  }
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-bb-'))
  const config = join(dir, 'blackbox.yml')
  writeFileSync(config, 'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n')
  const listen = 19115
  const child = spawn(
    binary,
    [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${listen}`],
    { stdio: 'ignore' },
  )
  await new Promise((r) => setTimeout(r, 1000))
  // Prometheus would scrape each target every 20 s; drive the same rate for the same window.
  const perSecond = n / (intervalMs / 1000)
  const seconds = Math.min(windowMs / 1000, 30)
  const cpuBefore = processCpuMs(child.pid as number)
  let probes = 0
  for (let s = 0; s < seconds; s++) {
    const started = clock.now()
    const batch: Promise<unknown>[] = []
    for (let i = 0; i < perSecond; i++) {
      batch.push(
        fetch(
          `http://127.0.0.1:${listen}/probe?module=http_2xx&target=http://127.0.0.1:${port}/m/${(s * perSecond + i) % n}`,
        )
          .then((r) => r.text())
          .then(() => probes++)
          .catch(() => undefined),
      )
    }
    await Promise.all(batch)
    const spent = clock.now() - started
    if (spent < 1000) await new Promise((r) => setTimeout(r, 1000 - spent))
  }
  const cpu = processCpuMs(child.pid as number) - cpuBefore
  child.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
  return { cpuMsPerProbe: cpu / Math.max(1, probes), probes }
}

const target = await startTarget()
console.log(
  `Keel check benchmark: HTTP monitors every ${intervalMs / 1000}s, ${windowMs / 1000}s window, target on 127.0.0.1:${target.port}`,
)
for (const n of sizes) {
  const keel = await benchKeel(n, target.port)
  console.log(`\nN = ${n}`)
  console.log(
    `  checks/s          ${(keel.checks / (windowMs / 1000)).toFixed(1)} achieved vs ${(n / (intervalMs / 1000)).toFixed(1)} expected (${((100 * keel.checks) / keel.expected).toFixed(1)} %), ${keel.down} not up`,
  )
  console.log(
    `  CPU per check     ${keel.cpuMsPerCheck.toFixed(3)} ms  (${(((keel.cpuMsPerCheck * n) / intervalMs) * 100).toFixed(1)} % of one core)`,
  )
  console.log(`  RSS               ${keel.rssMb.toFixed(0)} MB`)
  console.log(
    `  lateness          p50 ${keel.p50LatenessMs.toFixed(1)} ms, p99 ${keel.p99LatenessMs.toFixed(1)} ms`,
  )
  console.log(
    `  DB bytes/check    ${keel.bytesPerCheck.toFixed(1)} (raw results, before roll-up and pruning)`,
  )
  // Steady state per monitor: 1 h of raw rows and 2 h of minute roll-ups; growth: 24 hour rows
  // and 1 day row a day.
  const rawRowsPerMonitor = 3_600_000 / intervalMs
  const steadyMb = (1000 * (rawRowsPerMonitor * keel.rawRowBytes + 120 * keel.rollupRowBytes)) / 1e6
  const growthMb = (1000 * 25 * keel.rollupRowBytes) / 1e6
  console.log(
    `  storage           raw row ${keel.rawRowBytes.toFixed(1)} B, roll-up row ${keel.rollupRowBytes.toFixed(1)} B (indexes included) → 1,000 monitors: ${steadyMb.toFixed(1)} MB steady window + ${growthMb.toFixed(2)} MB/day; 1,000 monitor-days ≈ ${(steadyMb + growthMb).toFixed(1)} MB, 90 days ≈ ${(steadyMb + 90 * growthMb).toFixed(0)} MB`,
  )
  console.log(
    `  restart           leases of all ${n} monitors taken back in ${keel.restartToClaimMs} ms; first check ${keel.restartToFirstCheckMs} ms after start`,
  )
  const bb = await benchBlackbox(n, target.port)
  if (bb) {
    console.log(
      `  blackbox_exporter ${bb.cpuMsPerProbe.toFixed(3)} ms CPU per probe over ${bb.probes} probes (exporter process only, no Prometheus)`,
    )
    console.log(
      `  ratio             Keel uses ${(keel.cpuMsPerCheck / bb.cpuMsPerProbe).toFixed(2)}x the CPU per check of blackbox_exporter`,
    )
  } else {
    console.log(
      '  blackbox_exporter not installed (apt-get install prometheus-blackbox-exporter) — no ratio',
    )
  }
}
target.child.kill()
process.exit(0)

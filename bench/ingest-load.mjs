/* global performance, setTimeout */
// The ingest benchmark's load generator, run as its own process so its CPU is not counted as
// Keel's. It receives one job at a time over IPC, sends it with undici (keep-alive pool), and
// answers with the statuses and the accept latency of every request.
import { Pool } from 'undici'

const zeroTime = '0001-01-01T00:00:00Z'

/** The i-th request body of a format: dedup keys / label sets cycle over `keys` distinct alerts. */
function body(job, i) {
  const n = i % job.keys
  // Every tenth event resolves, so alerts keep opening, updating, resolving and reopening.
  const resolving = i % 10 === 9
  if (job.format === 'pagerduty') {
    return JSON.stringify({
      routing_key: job.key,
      event_action: resolving ? 'resolve' : 'trigger',
      dedup_key: `bench-${n}`,
      payload: {
        summary: `bench event ${i}: queue depth high on worker-${n}`,
        source: `worker-${n % 50}.bench.example`,
        severity: 'error',
        component: 'queue',
        custom_details: { depth: i % 977, event: i },
      },
      client: 'keel-bench',
    })
  }
  const now = new Date().toISOString()
  return JSON.stringify({
    version: '4',
    receiver: 'keel',
    status: resolving ? 'resolved' : 'firing',
    groupKey: `{}:{alertname="BenchQueueDepth"}`,
    truncatedAlerts: 0,
    groupLabels: { alertname: 'BenchQueueDepth' },
    commonLabels: { alertname: 'BenchQueueDepth', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench.example:9093',
    alerts: [
      {
        status: resolving ? 'resolved' : 'firing',
        labels: {
          alertname: 'BenchQueueDepth',
          instance: `worker-${n}:9100`,
          job: 'workers',
          severity: 'warning',
        },
        annotations: { summary: `queue depth ${i % 977} on worker-${n}` },
        startsAt: now,
        endsAt: resolving ? now : zeroTime,
        generatorURL: 'http://prometheus.bench.example:9090/graph?g0.expr=queue_depth',
        fingerprint: '',
      },
    ],
  })
}

async function send(pool, job, i, record, intendedAt) {
  try {
    const response = await pool.request({
      method: 'POST',
      path: job.path,
      headers: { 'content-type': 'application/json' },
      body: body(job, i),
    })
    await response.body.text()
    record(response.statusCode, intendedAt)
  } catch {
    record(0, intendedAt)
  }
}

/**
 * Closed loop (`rate` absent): `concurrency` requests always in flight, for the most events/s.
 * Open loop: requests start on a fixed schedule of `rate` per second whatever the answers, and
 * latency counts from the scheduled start, so a stall shows up instead of slowing the sender.
 */
async function run(job) {
  const pool = new Pool(job.origin, {
    connections: job.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  })
  const statuses = {}
  const latencies = []
  let accepted = 0
  let next = job.offset ?? 0
  const start = performance.now()
  const warmupEnd = start + job.warmupMs
  const end = warmupEnd + job.durationMs
  // Only requests started inside the window count, so warm-up and the drain at the end do not.
  const record = (status, intendedAt) => {
    if (status >= 200 && status < 300) accepted++
    if (intendedAt < warmupEnd || intendedAt >= end) return
    statuses[status] = (statuses[status] ?? 0) + 1
    latencies.push(performance.now() - intendedAt)
  }
  if (job.rate === undefined) {
    const worker = async () => {
      while (performance.now() < end) await send(pool, job, next++, record, performance.now())
    }
    await Promise.all(Array.from({ length: job.concurrency }, worker))
  } else {
    const inFlight = new Set()
    let sent = 0
    await new Promise((resolve) => {
      const tick = () => {
        const now = performance.now()
        if (now >= end) return resolve()
        const due = Math.floor(((now - start) * job.rate) / 1000)
        while (sent < due) {
          const intendedAt = start + (sent * 1000) / job.rate
          const p = send(pool, job, next++, record, intendedAt)
          inFlight.add(p)
          p.finally(() => inFlight.delete(p))
          sent++
        }
        setTimeout(tick, 1)
      }
      tick()
    })
    await Promise.all(inFlight)
  }
  await pool.close()
  return { statuses, latencies, measuredMs: job.durationMs, next, accepted }
}

process.on('message', async (job) => {
  process.send?.(await run(job))
})
process.on('disconnect', () => process.exit(0))
process.send?.({ ready: true })

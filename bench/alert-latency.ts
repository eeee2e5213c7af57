/**
 * `npm run bench:alert-latency`: how long from the check that confirms a failure to the webhook
 * delivered. Runs a real Keel (`startKeel`, SQLite in a temp dir) with BENCH_FLIPS watched HTTP
 * monitors (1 s interval, no retries) and BENCH_BACKGROUND other monitors at 20 s against a
 * loopback target, and a loopback webhook receiver. It flips each watched target down and up
 * once (one monitor flipped many times would be flapping, which pages differently). A
 * delivery's latency is its arrival time minus the transition instant the message carries
 * (`at`: when the confirming check finished). Prints p50 / p90 / p99 / max for DOWN and UP.
 *
 * Options (environment): BENCH_FLIPS=30, BENCH_BACKGROUND=500.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { startKeel } from '../src/cli/start-keel.js'

const flips = Number(process.env.BENCH_FLIPS ?? 30)
const background = Number(process.env.BENCH_BACKGROUND ?? 500)

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler)
  return new Promise<{ url: string; close(): Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

// The watched monitor that is down now, if any; each is flipped once, so none starts flapping
// (a monitor that changes state every other check is flapping, and pages only for that).
let downPath: string | undefined
const target = await listen((req, res) => {
  const down = req.url === downPath
  res.writeHead(down ? 503 : 200, { 'content-type': 'text/plain' })
  res.end(down ? 'down' : 'ok')
})

const deliveries: { status: string; latencyMs: number }[] = []
let onDelivery: (() => void) | undefined
const receiver = await listen((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const arrived = Date.now()
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      status: string
      at: string
      labels: Record<string, string>
    }
    res.writeHead(200).end('ok')
    if (!body.labels.monitor?.startsWith('watched-')) return
    deliveries.push({ status: body.status, latencyMs: arrived - Date.parse(body.at) })
    onDelivery?.()
  })
})

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-latency-'))
const monitors = [
  ...Array.from(
    { length: flips },
    (_, i) =>
      `  watched-${i}:\n    type: http\n    url: ${target.url}/watched/${i}\n    interval: 1s\n    timeout: 2s\n    retries: 0\n    channels: [hook]`,
  ),
  ...Array.from(
    { length: background },
    (_, i) =>
      `  bg-${i}:\n    type: http\n    url: ${target.url}/bg/${i}\n    interval: 20s\n    channels: []`,
  ),
]
writeFileSync(
  join(dir, 'keel.yaml'),
  [
    'server: { listen: "127.0.0.1:0" }',
    'store: { driver: sqlite, path: keel.db }',
    'channels:',
    `  hook: { type: webhook, url: "${receiver.url}/hook" }`,
    'monitors:',
    ...monitors,
    '',
  ].join('\n'),
)

const keel = await startKeel({
  configPath: join(dir, 'keel.yaml'),
  env: { KEEL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') },
  log: pino({ level: process.env.BENCH_LOG ?? 'silent' }),
})

const waitForDelivery = (count: number) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no delivery within 60 s')), 60_000)
    onDelivery = () => {
      if (deliveries.length >= count) {
        clearTimeout(timer)
        resolve()
      }
    }
    onDelivery()
  })

console.log(
  `Keel at ${keel.url}; ${flips} watched monitors every 1 s (each flipped down and up once), ${background} background monitors at 20 s\n`,
)
// Let the first checks of every monitor settle.
await new Promise((resolve) => setTimeout(resolve, 3_000))
for (let i = 0; i < flips; i++) {
  downPath = `/watched/${i}`
  await waitForDelivery(deliveries.length + 1)
  downPath = undefined
  await waitForDelivery(deliveries.length + 1)
}
await keel.stop()
await Promise.all([target.close(), receiver.close()])
rmSync(dir, { recursive: true, force: true })

const row = (status: string) => {
  const values = deliveries.filter((d) => d.status === status).map((d) => d.latencyMs)
  return `| ${status === 'firing' ? 'DOWN confirmed' : 'UP confirmed'} | ${values.length} | ${[
    50, 90, 99,
  ]
    .map((p) => `${percentile(values, p).toFixed(0)} ms`)
    .join(' | ')} | ${Math.max(...values).toFixed(0)} ms |`
}
console.log('| transition → webhook delivered | n | p50 | p90 | p99 | max |')
console.log('|---|---|---|---|---|---|')
console.log(row('firing'))
console.log(row('resolved'))
const p99 = percentile(
  deliveries.map((d) => d.latencyMs),
  99,
)
console.log(
  `\np99 over all ${deliveries.length} deliveries: ${p99.toFixed(0)} ms (target < 1,000 ms: ${(p99 / 1000).toFixed(2)}× the budget)`,
)

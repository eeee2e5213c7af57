import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'

/** The demo's local targets: a small web shop that is sometimes slow and sometimes fails. */
export interface DemoTargets {
  url: string
  /** Webhook notifications the demo receiver got, newest last. */
  received: unknown[]
  close(): Promise<void>
}

/**
 * Starts the targets `examples/keel.yaml` watches, so the demo works offline: `/` (a page),
 * `/api/health` (JSON), `/slow` (about 400 ms), `/flaky` (fails one request in four) and
 * `/hooks` (logs the notifications Keel sends). It also plays a nightly backup job that pings
 * Keel's heartbeat URL every 30 s.
 */
export async function startDemoTargets(options: {
  port: number
  keelUrl: () => string | undefined
  heartbeatToken?: string
  log: Logger
}): Promise<DemoTargets> {
  const received: unknown[] = []
  let requests = 0
  const server: Server = createServer((req, res) => {
    requests++
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>Demo shop</title><h1>Demo shop</h1><p>Open for business</p>')
    } else if (path === '/api/health') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: 'ok', database: { status: 'ok', connections: 12 } }))
    } else if (path === '/slow') {
      setTimeout(() => res.end('slow but fine'), 350 + Math.random() * 150)
    } else if (path === '/flaky') {
      if (requests % 4 === 0) {
        res.writeHead(503, { 'content-type': 'text/plain' })
        res.end('service unavailable')
      } else res.end('ok')
    } else if (path === '/hooks' && req.method === 'POST') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { title?: string }
          received.push(body)
          if (received.length > 100) received.shift()
          options.log.info({ notification: body.title }, `demo receiver got: ${body.title}`)
        } catch {
          // The demo receiver accepts anything; only Keel sends to it.
        }
        res.end('ok')
      })
    } else {
      res.writeHead(404)
      res.end('not found')
    }
  })
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  const ping = async () => {
    const base = options.keelUrl()
    if (!base || !options.heartbeatToken) return
    try {
      await fetch(`${base}/ping/${options.heartbeatToken}`, {
        method: 'POST',
        body: 'backup ok: 1.2 GB',
      })
    } catch {
      // Keel may still be starting; the next ping will do.
    }
  }
  const firstPing = setTimeout(() => void ping(), 3_000)
  const pinger = setInterval(() => void ping(), 30_000)
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      clearTimeout(firstPing)
      clearInterval(pinger)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

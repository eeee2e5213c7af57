import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../src/store/dialect.js'
import { killKeelProcess, startKeelProcess, type KeelProcess } from './helpers/keel-process.js'
import { listenOnLoopback, type ListeningServer } from './helpers/listen.js'
import { startLoopbackReceiver, type LoopbackReceiver } from './helpers/loopback-receiver.js'

function configText(targetUrl: string, receiverUrl: string, shutdownTimeout: string): string {
  return `
server: { shutdownTimeout: ${shutdownTimeout} }
store: { driver: sqlite, path: keel.db }
monitors:
  site:
    type: http
    url: "${targetUrl}/health"
    interval: 1s
    retries: 0
    channels: [slow-hook]
channels:
  slow-hook: { type: webhook, url: "${receiverUrl}/hook" }
`
}

describe('graceful shutdown on SIGTERM', () => {
  let dir: string
  let receiver: LoopbackReceiver
  let target: ListeningServer
  let keel: KeelProcess | undefined
  const targetHits: number[] = []

  afterEach(async () => {
    if (keel) await killKeelProcess(keel)
    keel = undefined
    await receiver.close()
    await target.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function start(shutdownTimeout: string, receiverDelayMs: number): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'keel-shutdown-'))
    receiver = await startLoopbackReceiver()
    receiver.respondWith({ status: 200, body: 'ok', delayMs: receiverDelayMs })
    targetHits.length = 0
    target = await listenOnLoopback(
      createServer((_req, res) => {
        targetHits.push(Date.now())
        res.writeHead(503)
        res.end('down')
      }),
    )
    writeFileSync(
      join(dir, 'keel.yaml'),
      configText(`http://127.0.0.1:${target.port}`, receiver.url, shutdownTimeout),
    )
    keel = await startKeelProcess(join(dir, 'keel.yaml'), dir)
    // The monitor went down and its notification is now in flight to the slow receiver.
    await receiver.waitFor(1, 60_000)
  }

  it('finishes a delivery in flight, records it, starts no new check and exits 0', async () => {
    await start('30s', 3_000)
    const running = keel as KeelProcess
    running.process.kill('SIGTERM')
    const signalledAt = Date.now()
    const hitsBefore = targetHits.length
    expect(await running.exited).toBe(0)
    expect(running.output()).toContain(
      'SIGTERM received; finishing checks and deliveries in flight',
    )
    // At most one check that had already connected when the signal came; none after it.
    expect(targetHits.filter((at) => at > signalledAt).length).toBeLessThanOrEqual(1)
    expect(targetHits.length - hitsBefore).toBeLessThanOrEqual(1)

    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    try {
      const rows = await store.db.selectFrom('notifications').select(['id', 'status']).execute()
      const delivered = String(receiver.requests[0]?.headers['x-keel-delivery'])
      expect(rows).toContainEqual({ id: delivered, status: 'delivered' })
    } finally {
      await store.close()
    }
  }, 180_000)

  it('gives up on a delivery that outlasts server.shutdownTimeout and keeps it queued', async () => {
    await start('1s', Infinity)
    const running = keel as KeelProcess
    running.process.kill('SIGTERM')
    expect(await running.exited).toBe(0)
    expect(running.output()).toContain('in flight (up to 1s, server.shutdownTimeout)')
    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    try {
      const delivered = String(receiver.requests[0]?.headers['x-keel-delivery'])
      const row = await store.db
        .selectFrom('notifications')
        .select(['status'])
        .where('id', '=', delivered)
        .executeTakeFirstOrThrow()
      // Not lost and not marked delivered: the next start retries it.
      expect(row.status).not.toBe('delivered')
      expect(row.status).not.toBe('failed')
    } finally {
      await store.close()
    }
  }, 180_000)
})

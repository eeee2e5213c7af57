import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { configureOutboundGuard, outboundGuard } from '../src/checks/outbound-guard.js'
import { startKeel, type RunningKeel } from '../src/cli/start-keel.js'
import { listAudit } from '../src/store/audit.js'
import { getMonitor, listMonitors } from '../src/store/monitors.js'

const log = pino({ level: 'silent' })

function config(monitors: string[]): string {
  return ['store: { driver: sqlite, path: keel.db }', 'monitors:', ...monitors].join('\n')
}

const heartbeat = [
  '  backup:',
  '    type: heartbeat',
  '    token: backup-token',
  '    period: 1h',
  '    grace: 5m',
  '    retries: 0',
]

describe('keel serve', () => {
  let dir: string
  let keel: RunningKeel | undefined
  let token: string | undefined

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-serve-'))
    writeFileSync(join(dir, 'keel.yaml'), config(heartbeat))
    keel = await startKeel({
      configPath: join(dir, 'keel.yaml'),
      env: {},
      log,
      listen: '127.0.0.1:0',
      nodeId: 'test-node',
      onBootstrapToken: (t) => (token = t),
    })
  })
  afterEach(async () => {
    await keel?.stop(1_000)
    rmSync(dir, { recursive: true, force: true })
  })

  it('applies its config at start and answers heartbeats on the configured token', async () => {
    expect(token).toMatch(/^keel_/)
    const ping = await fetch(`${keel!.url}/ping/backup-token`, {
      method: 'POST',
      body: 'dump done',
    })
    expect(ping.status).toBe(200)
    const row = await getMonitor(keel!.store.db, 'backup')
    expect(row?.source).toBe(`file:${join(dir, 'keel.yaml')}`)
    expect(row?.runtime.state).toBe('up')
    const fail = await fetch(`${keel!.url}/ping/backup-token/fail`, { method: 'POST' })
    expect(fail.status).toBe(200)
    expect((await getMonitor(keel!.store.db, 'backup'))?.runtime.state).toBe('down')
  })

  it('keeps the running config when a reload is invalid, and applies a valid one', async () => {
    writeFileSync(
      join(dir, 'keel.yaml'),
      config([...heartbeat, '  web:', '    type: http', '    url: nope']),
    )
    const bad = await keel!.reload()
    expect(bad.ok).toBe(false)
    expect(bad.message).toContain('monitors.web.url')
    expect((await listMonitors(keel!.store.db)).map((m) => m.slug)).toEqual(['backup'])
    const health = await fetch(`${keel!.url}/healthz`)
    expect(health.status).toBe(200)

    writeFileSync(
      join(dir, 'keel.yaml'),
      config([...heartbeat, '  web:', '    type: http', '    url: http://127.0.0.1:9/']),
    )
    const good = await keel!.reload()
    expect(good.ok).toBe(true)
    expect((await listMonitors(keel!.store.db)).map((m) => m.slug)).toEqual(['backup', 'web'])
    expect(keel!.scheduler.size).toBe(2)
    const audit = await listAudit(keel!.store.db, { objectId: 'web' })
    expect(audit[0]).toMatchObject({ actor: 'config', action: 'monitor.create' })
  })

  it('sets the SSRF guard from keel.yaml at start and on every reload', async () => {
    try {
      expect(outboundGuard('monitors')).toBeUndefined()
      expect(outboundGuard('outbound')).toBeUndefined()
      const write = (...settings: string[]) =>
        writeFileSync(join(dir, 'keel.yaml'), [...settings, config(heartbeat)].join('\n'))
      write('checks: { refusePrivateTargets: true }', 'outbound: { refusePrivateTargets: false }')
      expect((await keel!.reload()).ok).toBe(true)
      expect(outboundGuard('monitors')?.setting).toBe('checks.refusePrivateTargets')
      expect(outboundGuard('outbound')).toBeUndefined()
      // And at start: a node started on this file guards monitors from its first check.
      await keel!.stop(1_000)
      configureOutboundGuard({ monitors: false })
      keel = await startKeel({
        configPath: join(dir, 'keel.yaml'),
        env: {},
        log,
        listen: '127.0.0.1:0',
        nodeId: 'test-node',
      })
      expect(outboundGuard('monitors')?.setting).toBe('checks.refusePrivateTargets')
      expect(outboundGuard('outbound')).toBeUndefined()
      write('checks: { refusePrivateTargets: true }')
      expect((await keel!.reload()).ok).toBe(true)
      expect(outboundGuard('outbound')?.setting).toMatch(/^checks\.refusePrivateTargets, which/)
      write('outbound: { refusePrivateTargets: true }')
      expect((await keel!.reload()).ok).toBe(true)
      expect(outboundGuard('monitors')).toBeUndefined()
      expect(outboundGuard('outbound')?.setting).toBe('outbound.refusePrivateTargets')
    } finally {
      configureOutboundGuard({ monitors: false })
    }
  })

  it('refuses to start on an invalid config and names every problem', async () => {
    const badDir = mkdtempSync(join(tmpdir(), 'keel-bad-'))
    try {
      writeFileSync(
        join(badDir, 'keel.yaml'),
        'monitors:\n  a:\n    type: nope\n  b:\n    type: tcp\n',
      )
      await expect(
        startKeel({ configPath: join(badDir, 'keel.yaml'), env: {}, log, listen: '127.0.0.1:0' }),
      ).rejects.toThrow(/monitors\.a\.type[\s\S]*monitors\.b/)
    } finally {
      rmSync(badDir, { recursive: true, force: true })
    }
  })
})

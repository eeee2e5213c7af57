import { currentIncidentOfAlert } from '../src/store/incidents.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMetrics } from '../src/api/metrics.js'
import { buildApi } from '../src/api/server.js'
import { fingerprint } from '../src/core/alerts/index.js'
import { createIntegration } from '../src/services/integrations.js'
import { getAlert, listAlerts, type Alert } from '../src/store/alerts.js'
import type { Store } from '../src/store/dialect.js'
import { listIngestEvents } from '../src/store/integrations.js'
import { requireOrSkip } from './helpers/require-or-skip.js'
import { storeKinds } from './helpers/stores.js'

// A real Prometheus Alertmanager sends to a real Keel over loopback: its webhook receiver and its
// PagerDuty receiver (Events API v2) both point at Keel, so one alert travels both ways.
const binary = '/usr/bin/prometheus-alertmanager'
const available = existsSync(binary)
if (!available) {
  requireOrSkip('alertmanager', `${binary} is missing, so the Alertmanager ingest test is skipped`)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Polls `probe` until it returns a value, failing with `what` and the log after `timeoutMs`. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  log: () => string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting until ${what}; alertmanager log:\n${log()}`)
}

const labels = {
  alertname: 'KeelIngestEndToEnd',
  instance: 'db-main:9187',
  severity: 'critical',
  city: 'Zürich',
}

describe.skipIf(!available)('Prometheus Alertmanager sending to Keel', () => {
  let dir = ''
  let child: ChildProcess | undefined
  let output = ''
  let alertmanagerUrl = ''
  let app: FastifyInstance | undefined
  let store: Store
  let cleanup: (() => Promise<void>) | undefined

  beforeAll(async () => {
    const sqlite = storeKinds.find((k) => k.name === 'sqlite')
    if (!sqlite) throw new Error('no sqlite store kind')
    const created = await sqlite.create()
    store = created.store
    cleanup = created.cleanup
    const clock = { now: () => Date.now() }
    app = await buildApi({
      db: store.db,
      clock,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const keel = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const actor = { name: 'test', role: 'operator' as const }
    const am = await createIntegration(
      { db: store.db, clock, actor },
      { id: 'alertmanager', kind: 'alertmanager' },
    )
    const pd = await createIntegration(
      { db: store.db, clock, actor },
      { id: 'alertmanager-pd', kind: 'pagerduty' },
    )

    dir = mkdtempSync(join(tmpdir(), 'keel-alertmanager-ingest-'))
    const config = join(dir, 'alertmanager.yml')
    writeFileSync(
      config,
      [
        'route:',
        '  receiver: keel',
        '  group_by: [alertname]',
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: keel',
        '    webhook_configs:',
        `      - url: ${keel}/ingest/alertmanager/${am.key}`,
        '        send_resolved: true',
        '    pagerduty_configs:',
        `      - url: ${keel}/v2/enqueue`,
        `        routing_key: ${pd.key}`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    )
    const port = await freePort()
    alertmanagerUrl = `http://127.0.0.1:${port}`
    child = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await eventually(
      'alertmanager is ready',
      async () => {
        if (child?.exitCode !== null) throw new Error(`alertmanager exited early:\n${output}`)
        const response = await fetch(`${alertmanagerUrl}/-/ready`).catch(() => undefined)
        return response?.ok ? true : undefined
      },
      () => output,
      20_000,
    )
  }, 60_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await app?.close()
    await cleanup?.()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  async function postToAlertmanager(alert: object): Promise<void> {
    const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
    })
    expect(response.status, await response.text()).toBe(200)
  }

  async function pagerDutyAlert(): Promise<Alert | undefined> {
    const all = await listAlerts(store.db)
    return all.find((a) => a.labels.integration === 'alertmanager-pd')
  }

  it('fires the alert in Keel with Alertmanager’s fingerprint, then resolves it', async () => {
    const annotations = { summary: 'replication lag above 30s', runbook_url: 'https://rb/lag' }
    await postToAlertmanager({ labels, annotations })
    const listed = (await (await fetch(`${alertmanagerUrl}/api/v2/alerts`)).json()) as {
      labels: Record<string, string>
      fingerprint: string
    }[]
    const reported = listed.find((a) => a.labels.alertname === labels.alertname)?.fingerprint
    expect(reported).toBe(fingerprint(labels))

    const firing = await eventually(
      'Keel has the alert firing',
      async () => {
        const alert = await getAlert(store.db, reported ?? '')
        return alert?.status === 'firing' ? alert : undefined
      },
      () => output,
    )
    expect(firing.labels).toEqual(labels)
    expect(firing.annotations).toMatchObject(annotations)
    expect(firing.source).toBe('alertmanager:alertmanager')
    const opened = await currentIncidentOfAlert(store.db, firing.id)
    expect(opened?.status).toBe('triggered')

    // The same notification also arrived through Alertmanager's PagerDuty receiver.
    const paged = await eventually(
      'Keel has the PagerDuty event firing',
      async () => {
        const alert = await pagerDutyAlert()
        return alert?.status === 'firing' ? alert : undefined
      },
      () => output,
    )
    expect(paged.labels).toMatchObject({ source: 'Alertmanager', integration: 'alertmanager-pd' })
    expect(paged.annotations.summary).toContain(labels.alertname)

    await postToAlertmanager({
      labels,
      annotations,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() - 1_000).toISOString(),
    })
    const resolved = await eventually(
      'Keel has the alert resolved',
      async () => {
        const alert = await getAlert(store.db, reported ?? '')
        return alert?.status === 'resolved' ? alert : undefined
      },
      () => output,
    )
    expect(resolved.endsAt).toBeDefined()
    await eventually(
      'Keel has the PagerDuty event resolved',
      async () => ((await pagerDutyAlert())?.status === 'resolved' ? true : undefined),
      () => output,
    )
    // Every alert of the incident resolved, so Keel resolved the incident it had opened.
    const closed = await eventually(
      'Keel resolved the incident',
      async () => {
        const incident = await currentIncidentOfAlert(store.db, resolved.id)
        return incident?.status === 'resolved' ? incident : undefined
      },
      () => output,
    )
    expect(closed.id).toBe(opened?.id)

    const inbox = await listIngestEvents(store.db, 'alertmanager')
    expect(inbox.map((e) => e.status)).toEqual(expect.arrayContaining(['opened', 'resolved']))
    expect(inbox.every((e) => e.fingerprint === reported)).toBe(true)
  }, 90_000)
})

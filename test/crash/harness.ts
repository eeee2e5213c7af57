import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { openStore, type Store, type StoreLocation } from '../../src/store/dialect.js'
import {
  killKeelProcess,
  startKeelProcess,
  waitUntil,
  type KeelProcess,
} from '../helpers/keel-process.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { startLoopbackReceiver } from '../helpers/loopback-receiver.js'
import { freshLocation } from '../helpers/stores.js'

/** Options of one harness run. */
export interface CrashHarnessOptions {
  store: 'sqlite' | 'postgres'
  /** How many times Keel is killed with SIGKILL. */
  kills: number
  /** Longest run between start and kill, in ms (each run lasts a random share of it). */
  maxRunMs?: number
  log?: (line: string) => void
}

/** What a run saw; `problems` is empty when every guarantee held. */
export interface CrashHarnessReport {
  store: 'sqlite' | 'postgres'
  kills: number
  pingsAccepted: number
  pingsLost: number
  eventsAccepted: number
  eventsLost: number
  notifications: number
  notificationsDelivered: number
  /** Notification ids never seen by the receiver. */
  notificationsMissing: number
  receipts: number
  duplicates: number
  escalations: number
  stepsFired: number
  stepsExpected: number
  integrity: string
  durationMs: number
  problems: string[]
}

const pingToken = 'crash-harness-heartbeat'
const levels = 3

function configText(location: StoreLocation, targetUrl: string, receiverUrl: string): string {
  const storeLine =
    location.driver === 'sqlite'
      ? 'store: { driver: sqlite, path: keel.db }'
      : `store: { driver: postgres, url: "${location.url}", poolSize: 4 }`
  return `
${storeLine}
monitors:
  cron-job: { type: heartbeat, token: ${pingToken}, period: 1h, grace: 5m, channels: [] }
  flapping-site:
    type: http
    url: "${targetUrl}/health"
    interval: 1s
    timeout: 1s
    retries: 0
    reuseConnections: false
    channels: [site-hook]
channels:
  site-hook: { type: webhook, url: "${receiverUrl}/site" }
  ann-hook: { type: webhook, url: "${receiverUrl}/ann" }
  bob-hook: { type: webhook, url: "${receiverUrl}/bob" }
  cid-hook: { type: webhook, url: "${receiverUrl}/cid" }
users:
  ann: { name: Ann, channels: [ann-hook] }
  bob: { name: Bob, channels: [bob-hook] }
  cid: { name: Cid, channels: [cid-hook] }
routes:
  match:
    - { matchers: ['team="crash"'], escalationPolicy: crash }
escalationPolicies:
  crash:
    levels:
      - targets: [{ user: ann }]
      - { delay: 2s, targets: [{ user: bob }] }
      - { delay: 2s, targets: [{ user: cid }] }
escalation:
  pollInterval: 500ms
`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function post(url: string, body: string, type: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
      signal: AbortSignal.timeout(3_000),
    })
    await response.arrayBuffer()
    return response.status
  } catch {
    // Refused or cut off by the kill: not acknowledged, so nothing is owed.
    return undefined
  }
}

/** Checks the store's physical integrity: SQLite's integrity_check, PostgreSQL's amcheck. */
async function integrityOf(location: StoreLocation): Promise<string> {
  if (location.driver === 'sqlite') {
    const database = new SqliteDatabase(location.path, { readonly: true })
    try {
      return String(database.pragma('integrity_check', { simple: true }))
    } finally {
      database.close()
    }
  }
  const client = new pg.Client({ connectionString: location.url })
  await client.connect()
  try {
    await client.query('create extension if not exists amcheck')
    const indexes = await client.query(
      `select c.oid::regclass::text as name from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_namespace n on n.oid = c.relnamespace
         join pg_am am on am.oid = c.relam
       where n.nspname = 'public' and am.amname = 'btree'`,
    )
    for (const row of indexes.rows as { name: string }[]) {
      await client.query('select bt_index_check($1::regclass, true)', [row.name])
    }
    return `ok (amcheck on ${indexes.rowCount} btree indexes)`
  } catch (error) {
    return `amcheck failed: ${(error as Error).message}`
  } finally {
    await client.end()
  }
}

/**
 * Runs Keel as a child process under a steady load of heartbeat pings, PagerDuty events and a
 * flapping HTTP target, kills it with SIGKILL `kills` times at random points, restarts it, then
 * checks that nothing acknowledged was lost, every notification reached the receiver at least
 * once, no escalation level was skipped and the database is intact.
 */
export async function runCrashHarness(options: CrashHarnessOptions): Promise<CrashHarnessReport> {
  const log = options.log ?? (() => undefined)
  const started = Date.now()
  const dir = mkdtempSync(join(tmpdir(), 'keel-crash-harness-'))
  const receiver = await startLoopbackReceiver()
  let targetUp = true
  const target = createServer((_req, res) => {
    res.writeHead(targetUp ? 200 : 503)
    res.end(targetUp ? 'up' : 'down')
  })
  const targetServer = await listenOnLoopback(target)
  const fresh = await freshLocation(options.store)
  const location: StoreLocation =
    fresh.location.driver === 'sqlite'
      ? { driver: 'sqlite', path: join(dir, 'keel.db') }
      : fresh.location
  const configPath = join(dir, 'keel.yaml')
  writeFileSync(
    configPath,
    configText(location, `http://127.0.0.1:${targetServer.port}`, receiver.url),
  )

  let keel: KeelProcess | undefined
  let store: Store | undefined
  const acceptedPings: string[] = []
  const acceptedEvents: string[] = []
  let loading = true
  const loops: Promise<void>[] = []
  try {
    keel = await startKeelProcess(configPath, dir)
    const token = /keep it safe:\n\s+(\S+)/.exec(keel.output())?.[1]
    if (!token) throw new Error(`no bootstrap token in the output:\n${keel.output()}`)
    const created = await fetch(`${keel.url}/api/v1/integrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'crash',
        kind: 'pagerduty',
        name: 'Crash',
        labels: { team: 'crash' },
      }),
    })
    if (created.status !== 201) throw new Error(`creating the integration: ${await created.text()}`)
    const routingKey = ((await created.json()) as { key: string }).key
    const current = () => keel?.url

    let pingNumber = 0
    // Four senders, so pings are in flight at most instants a kill can land on.
    for (let sender = 0; sender < 4; sender++) {
      loops.push(
        (async () => {
          while (loading) {
            const url = current()
            const id = `ping-${pingNumber++}`
            if (url && (await post(`${url}/ping/${pingToken}`, id, 'text/plain')) === 200) {
              acceptedPings.push(id)
            }
            await sleep(url ? 10 : 50)
          }
        })(),
      )
    }
    let eventNumber = 0
    loops.push(
      (async () => {
        while (loading) {
          const url = current()
          const dedupKey = `event-${eventNumber++}`
          const body = JSON.stringify({
            routing_key: routingKey,
            event_action: 'trigger',
            dedup_key: dedupKey,
            payload: {
              summary: `crash harness ${dedupKey}`,
              source: 'harness',
              severity: 'critical',
            },
          })
          const status = url ? await post(`${url}/v2/enqueue`, body, 'application/json') : undefined
          if (status !== undefined && status >= 200 && status < 300) acceptedEvents.push(dedupKey)
          await sleep(250)
        }
      })(),
    )
    loops.push(
      (async () => {
        while (loading) {
          targetUp = !targetUp
          await sleep(1_500)
        }
        targetUp = true
      })(),
    )

    const maxRunMs = options.maxRunMs ?? 2_500
    for (let kill = 1; kill <= options.kills; kill++) {
      await sleep(100 + Math.random() * maxRunMs)
      await killKeelProcess(keel)
      log(
        `kill ${kill}/${options.kills}: ${acceptedPings.length} pings, ${acceptedEvents.length} events acknowledged so far`,
      )
      keel = await startKeelProcess(configPath, dir)
    }
    await sleep(1_000)
    loading = false
    await Promise.all(loops)

    store = await openStore(location)
    const db = store.db
    await waitUntil(
      'every notification to settle and every escalation to end',
      async () => {
        const open = await sql<{ n: number }>`select
            (select count(*) from notifications where status not in ('delivered', 'failed')) +
            (select count(*) from escalations where status = 'active') +
            (select count(*) from escalation_steps where status = 'pending') as n`.execute(db)
        return Number(open.rows[0]?.n) === 0
      },
      180_000,
    )
    // A duplicate from a last redelivery would show within a dispatcher pass.
    await sleep(1_500)
    keel.process.kill('SIGTERM')
    const exitCode = await keel.exited
    const problems: string[] = []
    if (exitCode !== 0) problems.push(`SIGTERM exit code ${exitCode}, expected 0`)

    const pingBodies = new Set(
      (await db.selectFrom('heartbeat_pings').select('body').execute()).map((r) => r.body),
    )
    const pingsLost = acceptedPings.filter((id) => !pingBodies.has(id)).length
    const dedupKeys = new Set(
      (await db.selectFrom('ingest_events').select('dedup_key').execute()).map((r) => r.dedup_key),
    )
    const eventsLost = acceptedEvents.filter((key) => !dedupKeys.has(key)).length
    if (pingsLost > 0) problems.push(`${pingsLost} acknowledged pings are not stored`)
    if (eventsLost > 0) problems.push(`${eventsLost} acknowledged PagerDuty events are not stored`)

    const notifications = await db.selectFrom('notifications').select(['id', 'status']).execute()
    const receiptIds = receiver.requests.map((r) => String(r.headers['x-keel-delivery']))
    const received = new Set(receiptIds)
    const delivered = notifications.filter((n) => n.status === 'delivered')
    const missing = delivered.filter((n) => !received.has(n.id)).length
    const undelivered = notifications.length - delivered.length
    if (undelivered > 0) problems.push(`${undelivered} notifications were not delivered`)
    if (missing > 0)
      problems.push(`${missing} notifications marked delivered never reached the receiver`)
    const known = new Set(notifications.map((n) => n.id))
    const strangers = receiptIds.filter((id) => !known.has(id)).length
    if (strangers > 0) problems.push(`${strangers} receipts name no stored notification`)

    const escalations = await db
      .selectFrom('escalations')
      .select(['incident_id', 'status'])
      .execute()
    const steps = await db
      .selectFrom('escalation_steps')
      .select(['incident_id', 'round', 'level', 'status'])
      .execute()
    let stepsFired = 0
    let stepsExpected = 0
    for (const escalation of escalations) {
      const done = steps
        .filter((s) => s.incident_id === escalation.incident_id && s.status === 'done')
        .map((s) => s.level)
        .sort((a, b) => a - b)
      // Exhausted: every level fired once. Stopped (resolved, acknowledged): a prefix of them.
      const expected = escalation.status === 'exhausted' ? levels : Math.max(0, ...done)
      stepsFired += done.length
      stepsExpected += expected
      const wanted = Array.from({ length: expected }, (_, i) => i + 1)
      if (JSON.stringify(done) !== JSON.stringify(wanted)) {
        problems.push(
          `incident ${escalation.incident_id} (${escalation.status}): levels fired ${JSON.stringify(done)}, expected ${JSON.stringify(wanted)}`,
        )
      }
    }
    const integrity = await integrityOf(location)
    if (!integrity.startsWith('ok')) problems.push(`integrity check: ${integrity}`)
    if (acceptedPings.length === 0 || acceptedEvents.length === 0 || notifications.length === 0) {
      problems.push('the load produced no acknowledged work; the harness proved nothing')
    }
    return {
      store: options.store,
      kills: options.kills,
      pingsAccepted: acceptedPings.length,
      pingsLost,
      eventsAccepted: acceptedEvents.length,
      eventsLost,
      notifications: notifications.length,
      notificationsDelivered: delivered.length,
      notificationsMissing: missing,
      receipts: receiptIds.length,
      duplicates: receiptIds.length - received.size,
      escalations: escalations.length,
      stepsFired,
      stepsExpected,
      integrity,
      durationMs: Date.now() - started,
      problems,
    }
  } finally {
    loading = false
    await Promise.all(loops)
    if (keel) await killKeelProcess(keel)
    await store?.close()
    await receiver.close()
    await targetServer.close()
    await fresh.drop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The report as a two-column table for the terminal and the docs. */
export function formatCrashReport(report: CrashHarnessReport): string {
  const percent = report.receipts === 0 ? 0 : (100 * report.duplicates) / report.receipts
  const rows: [string, string][] = [
    ['store', report.store],
    ['SIGKILLs', String(report.kills)],
    ['pings acknowledged / lost', `${report.pingsAccepted} / ${report.pingsLost}`],
    ['PagerDuty events acknowledged / lost', `${report.eventsAccepted} / ${report.eventsLost}`],
    ['notifications / delivered', `${report.notifications} / ${report.notificationsDelivered}`],
    ['notifications never received', String(report.notificationsMissing)],
    [
      'receipts / duplicates',
      `${report.receipts} / ${report.duplicates} (${percent.toFixed(2)} %)`,
    ],
    ['escalations', String(report.escalations)],
    ['escalation steps fired / expected', `${report.stepsFired} / ${report.stepsExpected}`],
    ['integrity', report.integrity],
    ['duration', `${(report.durationMs / 1000).toFixed(0)} s`],
    ['result', report.problems.length === 0 ? 'PASS' : `FAIL: ${report.problems.join('; ')}`],
  ]
  const width = Math.max(...rows.map(([name]) => name.length))
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { alertForTransition } from '../../src/core/alerts/index.js'
import { escalationMessageId } from '../../src/engine/escalator.js'
import { notificationId } from '../../src/engine/recorder.js'
import {
  openStore,
  parseJson,
  type Db,
  type Store,
  type StoreLocation,
} from '../../src/store/dialect.js'
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
  /** Acknowledged events whose alert is part of an incident that has an escalation. */
  eventsEscalated: number
  notifications: number
  notificationsDelivered: number
  /** Notification ids never seen by the receiver. */
  notificationsMissing: number
  receipts: number
  duplicates: number
  escalations: number
  stepsFired: number
  stepsExpected: number
  /** Escalations that ended `exhausted` with levels 1, 2 and 3 each done exactly once. */
  escalationsComplete: number
  /** Pages the fired steps owe (one per level's user and channel), and how many were delivered. */
  pagesExpected: number
  pagesDelivered: number
  /** Monitor state changes recorded, those that owe a notification, and those that have one. */
  transitions: number
  transitionsNotifying: number
  transitionsNotified: number
  integrity: string
  durationMs: number
  problems: string[]
}

const pingToken = 'crash-harness-heartbeat'
const levels = 3
/** Who each level of the `crash` policy pages, on which channel (as in `configText`). */
const pagedAt: Record<number, { user: string; channel: string }> = {
  1: { user: 'ann', channel: 'ann-hook' },
  2: { user: 'bob', channel: 'bob-hook' },
  3: { user: 'cid', channel: 'cid-hook' },
}
/** The channels each monitor notifies (as in `configText`). */
const monitorChannels: Record<string, string[]> = {
  'cron-job': [],
  'flapping-site': ['site-hook'],
}

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

/** One problem line for a list of findings: how many, and the first few. */
function sample(findings: readonly string[], what: string): string[] {
  if (findings.length === 0) return []
  const more = findings.length > 5 ? `; and ${findings.length - 5} more` : ''
  return [`${findings.length} ${what} failed: ${findings.slice(0, 5).join('; ')}${more}`]
}

/**
 * Follows each acknowledged PagerDuty event through the store: its ingest event, the alert with
 * that fingerprint, the incident the alert is part of, and that incident's escalation.
 */
async function eventChains(
  db: Db,
  accepted: readonly string[],
): Promise<{ escalated: number; problems: string[] }> {
  const events = await db.selectFrom('ingest_events').select(['dedup_key', 'fingerprint']).execute()
  const alerts = await db.selectFrom('alerts').select(['id', 'fingerprint']).execute()
  const links = await db.selectFrom('incident_alerts').select(['incident_id', 'alert_id']).execute()
  const escalations = await db.selectFrom('escalations').select('incident_id').execute()
  const fingerprintOf = new Map<string, string>()
  for (const event of events) {
    if (event.dedup_key !== null && event.fingerprint !== null) {
      fingerprintOf.set(event.dedup_key, event.fingerprint)
    }
  }
  const alertOf = new Map(alerts.map((a) => [a.fingerprint, a.id]))
  const escalating = new Set(escalations.map((e) => e.incident_id))
  const problems: string[] = []
  let escalated = 0
  for (const key of accepted) {
    const fingerprint = fingerprintOf.get(key)
    const alertId = fingerprint === undefined ? undefined : alertOf.get(fingerprint)
    const incidents = links.filter((l) => l.alert_id === alertId).map((l) => l.incident_id)
    if (fingerprint === undefined) problems.push(`${key} has no stored event with a fingerprint`)
    else if (alertId === undefined) problems.push(`${key} has no alert ${fingerprint}`)
    else if (incidents.length === 0) problems.push(`${key} (alert ${alertId}) is in no incident`)
    else if (!incidents.some((id) => escalating.has(id))) {
      problems.push(`${key} (incident ${incidents.join(', ')}) has no escalation`)
    } else escalated++
  }
  return { escalated, problems }
}

/**
 * Replays each monitor's recorded state changes through the rules of `recordOutcomes` (an alert
 * for the transition, no page for a quiet flap or a recovery of an alert that is not firing) and
 * checks that every change that owes a notification has its outbox row, delivered and received.
 */
async function monitorNotifications(
  db: Db,
  notifications: ReadonlyMap<string, { status: string }>,
  received: ReadonlySet<string>,
): Promise<{ transitions: number; notifying: number; notified: number; problems: string[] }> {
  const monitors = await db.selectFrom('monitors').select(['id', 'slug', 'type']).execute()
  const changes = await db
    .selectFrom('state_changes')
    .selectAll()
    .orderBy('at')
    .orderBy('id')
    .execute()
  const alerts = await db
    .selectFrom('alerts')
    .select(['fingerprint', 'labels'])
    .where('source', '=', 'monitor')
    .execute()
  const problems: string[] = []
  let notifying = 0
  let notified = 0
  for (const monitor of monitors) {
    const channels = monitorChannels[monitor.slug]
    if (channels === undefined) {
      problems.push(`monitor ${monitor.slug} is not part of the harness`)
      continue
    }
    const fingerprint = alerts.find(
      (a) => parseJson<Record<string, string>>(a.labels, {}).monitor === monitor.slug,
    )?.fingerprint
    let flapping = false
    let alertStatus: 'firing' | 'resolved' | undefined
    for (const change of changes.filter((c) => c.monitor_id === monitor.id)) {
      const transition = {
        from: change.from_state,
        to: change.to_state,
        at: change.at,
        message: change.message,
        flapping: change.flapping === 1,
        flappingChanged: (change.flapping === 1) !== flapping,
      } as Parameters<typeof alertForTransition>[1]
      flapping = transition.flapping
      const alert = alertForTransition(
        { id: monitor.slug, type: monitor.type, severity: 'critical', labels: {} },
        transition,
      )
      if (alert === undefined) continue
      const unchanged = alert.status === 'resolved' && alertStatus !== 'firing'
      if (!unchanged) alertStatus = alert.status
      if (unchanged || (transition.flapping && !transition.flappingChanged)) continue
      if (channels.length === 0) continue
      notifying++
      const missing = channels.filter((channel) => {
        const id = notificationId(fingerprint ?? '', change.at, alert.status, channel)
        return notifications.get(id)?.status !== 'delivered' || !received.has(id)
      })
      if (missing.length === 0) notified++
      else {
        problems.push(
          `${monitor.slug} ${change.from_state} → ${change.to_state} at ${new Date(change.at).toISOString()}: no delivered ${alert.status} notification on ${missing.join(', ')}`,
        )
      }
    }
  }
  return { transitions: changes.length, notifying, notified, problems }
}

/**
 * Runs Keel as a child process under a steady load of heartbeat pings, PagerDuty events and a
 * flapping HTTP target, kills it with SIGKILL `kills` times at random points, restarts it, then
 * checks that nothing acknowledged was lost (every accepted event became an incident that
 * escalated), every escalation ran all its levels once, every page and monitor notification owed
 * was queued and reached the receiver at least once, and the database is intact.
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

    const chain = await eventChains(db, acceptedEvents)
    problems.push(...sample(chain.problems, 'acknowledged PagerDuty events'))

    const escalations = await db
      .selectFrom('escalations')
      .select(['incident_id', 'status'])
      .execute()
    const steps = await db
      .selectFrom('escalation_steps')
      .select(['id', 'incident_id', 'round', 'level', 'status'])
      .execute()
    const byId = new Map(notifications.map((n) => [n.id, n]))
    const stepProblems: string[] = []
    const pageProblems: string[] = []
    let stepsFired = 0
    let escalationsComplete = 0
    let pagesExpected = 0
    let pagesDelivered = 0
    for (const escalation of escalations) {
      const own = steps.filter((s) => s.incident_id === escalation.incident_id)
      const done = own.filter((s) => s.status === 'done')
      const fired = done.map((s) => s.level).sort((a, b) => a - b)
      const others = own.filter((s) => s.status !== 'done').map((s) => `${s.level} ${s.status}`)
      stepsFired += done.length
      // Nothing acknowledges or resolves, so every escalation must run to its end: each level
      // fired exactly once and nothing cancelled. One that stopped or fired nothing lost work.
      if (
        escalation.status === 'exhausted' &&
        JSON.stringify(fired) === JSON.stringify([1, 2, 3]) &&
        others.length === 0
      ) {
        escalationsComplete++
      } else {
        stepProblems.push(
          `incident ${escalation.incident_id} ended ${escalation.status} with levels fired ${JSON.stringify(fired)}${others.length > 0 ? ` and steps ${others.join(', ')}` : ''}, expected exhausted with [1,2,3]`,
        )
      }
      for (const step of done) {
        const target = pagedAt[step.level]
        if (target === undefined) continue
        // The id is derived from the step, not read from its outcome, so a step marked done
        // without its outbox row is caught.
        const id = escalationMessageId(step.id, target.user, target.channel)
        pagesExpected++
        const row = byId.get(id)
        if (row?.status === 'delivered' && received.has(id)) pagesDelivered++
        else
          pageProblems.push(
            `incident ${escalation.incident_id} level ${step.level}: page ${id} ${row === undefined ? 'was never queued' : row.status !== 'delivered' ? `is ${row.status}` : 'never reached the receiver'}`,
          )
      }
    }
    const stepsExpected = escalations.length * levels
    problems.push(
      ...sample(stepProblems, 'escalations'),
      ...sample(pageProblems, 'escalation pages'),
    )

    const monitored = await monitorNotifications(db, byId, received)
    problems.push(...sample(monitored.problems, 'monitor transitions'))

    const integrity = await integrityOf(location)
    if (!integrity.startsWith('ok')) problems.push(`integrity check: ${integrity}`)
    if (
      acceptedPings.length === 0 ||
      acceptedEvents.length === 0 ||
      notifications.length === 0 ||
      monitored.notifying === 0
    ) {
      problems.push('the load produced no acknowledged work; the harness proved nothing')
    }
    return {
      store: options.store,
      kills: options.kills,
      pingsAccepted: acceptedPings.length,
      pingsLost,
      eventsAccepted: acceptedEvents.length,
      eventsLost,
      eventsEscalated: chain.escalated,
      notifications: notifications.length,
      notificationsDelivered: delivered.length,
      notificationsMissing: missing,
      receipts: receiptIds.length,
      duplicates: receiptIds.length - received.size,
      escalations: escalations.length,
      stepsFired,
      stepsExpected,
      escalationsComplete,
      pagesExpected,
      pagesDelivered,
      transitions: monitored.transitions,
      transitionsNotifying: monitored.notifying,
      transitionsNotified: monitored.notified,
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
    ['events with incident and escalation', `${report.eventsEscalated} / ${report.eventsAccepted}`],
    ['notifications / delivered', `${report.notifications} / ${report.notificationsDelivered}`],
    ['notifications never received', String(report.notificationsMissing)],
    [
      'receipts / duplicates',
      `${report.receipts} / ${report.duplicates} (${percent.toFixed(2)} %)`,
    ],
    ['escalations', String(report.escalations)],
    ['escalation steps fired / expected', `${report.stepsFired} / ${report.stepsExpected}`],
    [
      'escalations exhausted, levels 1-3 once',
      `${report.escalationsComplete} / ${report.escalations}`,
    ],
    ['pages owed by steps / delivered', `${report.pagesExpected} / ${report.pagesDelivered}`],
    [
      'state changes / owing notice / notified',
      `${report.transitions} / ${report.transitionsNotifying} / ${report.transitionsNotified}`,
    ],
    ['integrity', report.integrity],
    ['duration', `${(report.durationMs / 1000).toFixed(0)} s`],
    ['result', report.problems.length === 0 ? 'PASS' : `FAIL: ${report.problems.join('; ')}`],
  ]
  const width = Math.max(...rows.map(([name]) => name.length))
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')
}

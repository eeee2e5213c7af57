import { statSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { buildApi } from '../api/server.js'
import { createMetrics, type KeelMetrics } from '../api/metrics.js'
import { parseListenAddress } from '../config/schema.js'
import { formatIssues, loadConfig, type LoadResult } from '../config/load.js'
import type { KeelConfig } from '../config/schema.js'
import type { Clock } from '../core/time.js'
import { Dispatcher } from '../engine/dispatcher.js'
import { Escalator } from '../engine/escalator.js'
import { retriggerExpiredAcks } from '../engine/incidents.js'
import { GroupNotifier, reviewSuppression, sendSilenceExpiryNotices } from '../engine/noise.js'
import { runAutoRemediations } from '../services/auto-remediation.js'
import { tryAcquireJobLease } from '../store/meta.js'
import { pruneIngestInbox, resolveExpiredAlerts } from '../services/integrations.js'
import { runRetention } from '../engine/retention.js'
import { Scheduler } from '../engine/scheduler.js'
import type { CommandPolicy } from '../checks/command-policy.js'
import { openStore, type Store } from '../store/dialect.js'
import { sealStoredSecrets, secretBoxFrom, withSecrets } from '../store/secrets.js'
import { secretFieldsOf } from '../config/redact.js'
import { executeApply, planIsEmpty, type DesiredState } from '../services/apply.js'
import { resolveSecretKey } from '../services/ack-links.js'
import { previousSecretKeys } from '../services/secret-rotation.js'
import { bootstrapAdminToken } from '../services/auth.js'
import { bootstrapAdminUser } from '../services/users.js'
import { oidcSettings } from './oidc-settings.js'
import { oncallSectionsOf } from '../services/oncall.js'
import { readSharedSettings } from '../services/settings.js'
import { localRunDriver, recoverOrphanedRuns, RunOutputHub } from '../services/runbooks.js'
import { configureOutboundGuard } from '../checks/outbound-guard.js'
import { formatApplyPlan } from './format.js'

/** The real clock; the only place outside tests that reads the time for the core. */
export const systemClock: Clock = { now: () => Date.now() }

/** A config that failed to load, with every issue. */
export class ConfigLoadError extends Error {
  constructor(readonly issues: Extract<LoadResult, { ok: false }>['issues']) {
    super(`keel.yaml is invalid:\n${formatIssues(issues)}`)
  }
}

/** Options of `startKeel`. */
export interface StartKeelOptions {
  configPath: string
  env: Record<string, string | undefined>
  clock?: Clock
  log?: Logger
  /** Overrides `server.listen` (tests pass `127.0.0.1:0`). */
  listen?: string
  /** A stable node id for leases; defaults to the host name. */
  nodeId?: string
  /** Called once with the bootstrap admin token on a fresh store. */
  onBootstrapToken?: (token: string) => void
  /** Called once with the one-time setup link of the `admin` user on a store with no users. */
  onBootstrapSetupLink?: (path: string) => void
}

/** A running Keel: its parts, its address and how to stop it. */
export interface RunningKeel {
  config: KeelConfig
  store: Store
  api: FastifyInstance
  scheduler: Scheduler
  dispatcher: Dispatcher
  escalator: Escalator
  metrics: KeelMetrics
  url: string
  /** Re-reads the config; a bad one is logged and the running config kept. */
  reload(): Promise<{ ok: boolean; message: string }>
  stop(deadlineMs?: number): Promise<void>
}

/** The desired state of a loaded config, with specs as the operator wrote them. */
export function desiredState(loaded: Extract<LoadResult, { ok: true }>): DesiredState {
  return {
    monitors: loaded.raw.monitors,
    channels: loaded.raw.channels,
    sources: loaded.sources,
    settings: { defaultChannels: loaded.config.defaults.channels },
    oncall: oncallSectionsOf(loaded.raw),
    alerting: (loaded.raw.alerting ?? {}) as Record<string, unknown>,
    incidents: (loaded.raw.incidents ?? {}) as Record<string, unknown>,
    statusPage: loaded.raw.statusPage ?? null,
    ...(loaded.catalog
      ? { catalog: { entities: loaded.catalog.entities, sources: loaded.catalog.sources } }
      : {}),
  }
}

/**
 * Where the secret key file lives when `KEEL_SECRET_KEY` is not set: beside the SQLite database,
 * else beside the config (a PostgreSQL cluster should set the variable on every node instead).
 */
export function secretKeyPath(config: KeelConfig, configPath: string): string {
  if (config.store.driver === 'sqlite' && config.store.path !== ':memory:') {
    return join(dirname(config.store.path), 'keel.key')
  }
  const dir = statSync(configPath, { throwIfNoEntry: false })?.isDirectory()
    ? configPath
    : dirname(configPath)
  return join(dir, 'keel.key')
}

/**
 * Makes `store` seal secrets on write and open them on read, with the at-rest key derived from
 * `KEEL_SECRET_KEY` or the key file; returns the root key (it also signs links).
 */
export async function useStoreSecrets(
  store: Store,
  config: KeelConfig,
  configPath: string,
  env: Record<string, string | undefined>,
): Promise<{ key: Uint8Array; source: 'env' | 'file' }> {
  const keyPath = secretKeyPath(config, configPath)
  const secret = await resolveSecretKey({ env, keyPath })
  const source = secret.source === 'env' ? 'KEEL_SECRET_KEY' : `secret key file ${keyPath}`
  const previous = await previousSecretKeys({ env, keyPath })
  withSecrets(store, secretBoxFrom(secret.key, source, previous), secretFieldsOf)
  return secret
}

/** Loads a config or throws ConfigLoadError with every issue. */
export async function loadConfigOrThrow(
  configPath: string,
  env: Record<string, string | undefined>,
): Promise<Extract<LoadResult, { ok: true }>> {
  const loaded = await loadConfig(configPath, env)
  if (!loaded.ok) throw new ConfigLoadError(loaded.issues)
  return loaded
}

/**
 * Starts a Keel node: loads and applies the config, opens the store, starts the scheduler, the
 * outbox dispatcher, the retention job and the HTTP API.
 */
export async function startKeel(options: StartKeelOptions): Promise<RunningKeel> {
  const clock = options.clock ?? systemClock
  const log = options.log ?? pino({ level: options.env.KEEL_LOG_LEVEL ?? 'info' })
  const loaded = await loadConfigOrThrow(options.configPath, options.env)
  let config = loaded.config
  configureOutboundGuard({
    monitors: config.checks.refusePrivateTargets,
    outbound: config.outbound.refusePrivateTargets,
  })
  const store = await openStore(config.store)
  const secret = await useStoreSecrets(store, config, options.configPath, options.env)
  const sealed = await sealStoredSecrets(store.db)
  if (sealed > 0)
    log.info(`encrypted the secrets of ${sealed} monitors and channels stored in clear`)
  const owner = options.nodeId ?? options.env.KEEL_NODE_ID ?? hostname()
  const actor = { name: 'config', role: 'admin' as const }

  const applyLoaded = async (next: Extract<LoadResult, { ok: true }>) => {
    const plan = await executeApply({ db: store.db, clock, actor }, desiredState(next))
    if (!planIsEmpty(plan)) log.info({ plan: formatApplyPlan(plan) }, 'applied configuration')
  }
  await applyLoaded(loaded)

  const token = await bootstrapAdminToken({ db: store.db, clock })
  if (token) options.onBootstrapToken?.(token.token)
  const setupLink = await bootstrapAdminUser({ db: store.db, clock })
  if (setupLink) options.onBootstrapSetupLink?.(setupLink.path)

  if (secret.source === 'file' && config.store.driver === 'postgres') {
    log.warn(
      'KEEL_SECRET_KEY is not set: links in pages are signed with this node’s key file; set the same KEEL_SECRET_KEY on every node so any node accepts them',
    )
  }

  let settings = await readSharedSettings(store.db)
  const links = config.server.publicUrl
    ? {
        publicUrl: config.server.publicUrl,
        key: secret.key,
        ttlMs: config.escalation.ackLinkExpiry,
      }
    : undefined
  const metrics = createMetrics()
  metrics.attachStore(store.db)
  const dispatcher = new Dispatcher({
    db: store.db,
    clock,
    log,
    owner,
    // The outbox keeps what a message's links may do; they are signed here as it is sent.
    ...(links ? { links } : {}),
    onOutcome: (notification, outcome) =>
      metrics.observeDelivery(notification.channelSlug, outcome.kind),
  })
  const escalator = new Escalator({
    db: store.db,
    clock,
    log,
    owner,
    pollIntervalMs: config.escalation.pollInterval,
    ...(config.server.publicUrl
      ? {
          links: {
            publicUrl: config.server.publicUrl,
            key: secret.key,
            ttlMs: config.escalation.ackLinkExpiry,
          },
        }
      : {}),
    onNotified: () => dispatcher.nudge(),
  })
  const groupNotifier = new GroupNotifier({
    db: store.db,
    clock,
    log,
    owner,
    pollIntervalMs: 2_000,
    ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
    ...(links ? { links } : {}),
    onNotified: () => dispatcher.nudge(),
  })
  // One object for the API and the scheduler, so a reload changes both at once.
  const commands: CommandPolicy = { commandDirs: config.checks.commandDirs }
  const scheduler = new Scheduler({
    commands,
    db: store.db,
    clock,
    log,
    owner,
    concurrency: config.scheduler.concurrency,
    jitter: config.scheduler.jitter,
    defaultChannels: () => settings.defaultChannels,
    ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
    ...(links ? { links } : {}),
    onCheck: (observation) => metrics.observeCheck(observation),
    onTransitions: (transitions) => {
      metrics.observeTransitions(transitions)
      for (const t of transitions) {
        log.info(
          {
            monitor: t.monitor.slug,
            from: t.transition.from,
            to: t.transition.to,
            notified: t.notified,
          },
          `monitor ${t.monitor.slug} is ${t.transition.to}: ${t.transition.message}`,
        )
      }
      if (transitions.some((t) => t.notified.length > 0)) dispatcher.nudge()
      // A transition may have opened or acknowledged an incident: page without waiting a poll.
      if (transitions.length > 0) {
        escalator.nudge()
        groupNotifier.nudge()
      }
    },
  })

  // Runbook files are read on each request, so edits show at once; a reload changes the folders.
  const runbookSettings = {
    paths: config.runbooks.paths,
    hub: new RunOutputHub(),
    driver: localRunDriver(owner),
  }
  // Runs whose node died mid-step (this one before a restart, or another past its lease) are
  // marked interrupted and their leftover commands on this host killed: now, then every 10 s.
  const recoverRuns = async () => {
    try {
      for (const r of await recoverOrphanedRuns({ db: store.db, clock }, runbookSettings)) {
        log.warn(
          r,
          r.action === 'interrupted'
            ? `runbook run ${r.runId} was interrupted at step ${r.step ?? '-'} (its node stopped); resume it from the next step or retry the step`
            : `killed the leftover command of runbook run ${r.runId}`,
        )
      }
    } catch (err) {
      log.error({ err }, 'recovering interrupted runbook runs failed; will retry')
    }
  }
  await recoverRuns()
  const runRecoveryTimer = setInterval(() => void recoverRuns(), 10_000)
  const api = await buildApi({
    db: store.db,
    clock,
    log,
    metrics,
    secretKey: secret.key,
    ackLinkTtlMs: config.escalation.ackLinkExpiry,
    ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
    ...(config.server.trustProxy.length > 0 ? { trustProxy: config.server.trustProxy } : {}),
    ...oidcSettings(config),
    runbooks: runbookSettings,
    commands,
    onChange: (what) => {
      if (what === 'alerts') {
        escalator.nudge()
        groupNotifier.nudge()
        return
      }
      if (what === 'monitors')
        void scheduler.sync().catch((err) => log.error({ err }, 'resync failed'))
      else dispatcher.invalidateChannels()
      dispatcher.nudge()
    },
  })

  await scheduler.start()
  dispatcher.start()
  await escalator.start()
  groupNotifier.start()
  const settingsTimer = setInterval(() => {
    readSharedSettings(store.db)
      .then((next) => (settings = next))
      .catch((err) => log.error({ err }, 'reading shared settings failed'))
  }, 5_000)
  const retention = async () => {
    try {
      const report = await runRetention(store.db, config.retention, clock.now(), owner)
      if (report && (report.deleted.raw > 0 || report.minutesRolled > 0))
        log.debug({ report }, 'retention pass')
      await pruneIngestInbox(store.db, clock.now())
    } catch (err) {
      log.error({ err }, 'retention pass failed; will retry')
    }
  }
  const retentionTimer = setInterval(() => void retention(), 60_000)
  const ackTimeouts = async () => {
    try {
      const changes = await retriggerExpiredAcks(store.db, clock.now())
      for (const change of changes) {
        log.info(
          { incident: change.incident.id },
          `incident #${change.incident.id} re-triggered: its acknowledgement timed out`,
        )
      }
      // Alerts sent without an end (Alertmanager's API, generic JSON) resolve when it passes.
      const expired = await resolveExpiredAlerts(store.db, clock.now(), {
        ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
      })
      if (changes.length > 0 || expired > 0) escalator.nudge()
    } catch (err) {
      log.error({ err }, 're-triggering timed-out acknowledgements failed; will retry')
    }
  }
  // Ack timeouts are minutes long; checking every 15 s keeps a re-trigger within 15 s of due.
  const ackTimeoutTimer = setInterval(() => void ackTimeouts(), 15_000)
  // Silences and maintenance windows start and end on the clock: re-decide what is muted.
  const noiseReview = async () => {
    try {
      // One node reviews at a time; the others would only repeat its decisions.
      const leader = await tryAcquireJobLease(store.db, 'noise-review', owner, clock.now(), 30_000)
      const review = leader
        ? await reviewSuppression(store.db, clock.now())
        : { released: [], muted: [], quietedIncidents: [] }
      if (review.released.length > 0 || review.muted.length > 0) {
        log.info(review, 'alert suppression changed')
        escalator.nudge()
        groupNotifier.nudge()
      }
      const notices = await sendSilenceExpiryNotices(store.db, clock.now(), {
        ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
      })
      if (notices.length > 0) dispatcher.nudge()
      // Receivers that name a runbook start it for incidents opened since the last pass.
      await runAutoRemediations({ db: store.db, clock, log }, runbookSettings, owner)
    } catch (err) {
      log.error({ err }, 'reviewing silences and maintenance failed; will retry')
    }
  }
  const noiseTimer = setInterval(() => void noiseReview(), 10_000)

  const listen = parseListenAddress(options.listen ?? config.server.listen) ?? {
    host: '127.0.0.1',
    port: 8080,
  }
  await api.listen({ host: listen.host, port: listen.port })
  const address = api.server.address()
  const port = typeof address === 'object' && address ? address.port : listen.port
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`

  let stopping: Promise<void> | undefined
  const running: RunningKeel = {
    config,
    store,
    api,
    scheduler,
    dispatcher,
    escalator,
    metrics,
    url,
    async reload() {
      const next = await loadConfig(options.configPath, options.env)
      if (!next.ok) {
        const message = `config reload rejected; still running the previous config:\n${formatIssues(next.issues)}`
        log.error(message)
        return { ok: false, message }
      }
      await applyLoaded(next)
      config = next.config
      configureOutboundGuard({
        monitors: config.checks.refusePrivateTargets,
        outbound: config.outbound.refusePrivateTargets,
      })
      runbookSettings.paths = config.runbooks.paths
      commands.commandDirs = config.checks.commandDirs
      running.config = config
      settings = await readSharedSettings(store.db)
      dispatcher.invalidateChannels()
      await scheduler.sync()
      return { ok: true, message: 'configuration reloaded' }
    },
    stop(deadlineMs = 10_000) {
      stopping ??= (async () => {
        clearInterval(settingsTimer)
        clearInterval(retentionTimer)
        clearInterval(ackTimeoutTimer)
        clearInterval(noiseTimer)
        clearInterval(runRecoveryTimer)
        // Closing the API first stops new work coming in; the engines then share one deadline.
        await api.close()
        await Promise.all([
          scheduler.stop(deadlineMs),
          escalator.stop(deadlineMs),
          groupNotifier.stop(deadlineMs),
          dispatcher.stop(deadlineMs),
        ])
        await store.close()
      })()
      return stopping
    },
  }
  log.info({ url, node: owner, config: dirname(options.configPath) }, `Keel is listening on ${url}`)
  return running
}

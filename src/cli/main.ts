import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { Command, Option } from 'commander'
import pino from 'pino'
import { runCheck, parseMonitorSpec } from '../checks/registry.js'
import { originOf } from '../checks/command-policy.js'
import { formatIssues, loadConfig } from '../config/load.js'
import { keelConfigJsonSchema } from '../config/schema.js'
import { KeelError, InputError, NotFoundError } from '../core/errors.js'
import { formatDuration, parseDuration } from '../core/time.js'
import { unknownRunbookEntities } from '../core/runbooks/index.js'
import { loadRunbooks } from '../runbooks/load.js'
import { openStore } from '../store/dialect.js'
import { getMonitor, listMonitors } from '../store/monitors.js'
import { executeApply, planApply, planIsEmpty } from '../services/apply.js'
import { createApiToken, roles } from '../services/auth.js'
import type { Role } from '../store/auth.js'
import { startDemoTargets, type DemoTargets } from './demo-targets.js'
import { formatAgo, formatApplyPlan, formatTable } from './format.js'
import { addBackupCommands } from './backup-commands.js'
import { addCatalogCommands } from './catalog-commands.js'
import { addIncidentCommands } from './incident-commands.js'
import { addSilenceCommands } from './silence-commands.js'
import { addOncallCommands } from './oncall-commands.js'
import { addRunbookCommands } from './runbook-commands.js'
import { addAccessCommands } from './access-commands.js'
import { addSecretsCommands } from './secrets-commands.js'
import {
  ConfigLoadError,
  desiredState,
  loadConfigOrThrow,
  startKeel,
  systemClock,
  useStoreSecrets,
  type RunningKeel,
} from './start-keel.js'

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

const defaultConfig = () => process.env.KEEL_CONFIG ?? 'keel.yaml'

function out(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** Exit codes: 1 config or runtime error, 2 bad input, 3 not found. */
function exitCodeFor(error: unknown): number {
  if (error instanceof InputError) return 2
  if (error instanceof NotFoundError) return 3
  return 1
}

async function withStore<T>(
  configPath: string,
  fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const loaded = await loadConfigOrThrow(configPath, process.env)
  const store = await openStore(loaded.config.store)
  try {
    await useStoreSecrets(store, loaded.config, configPath, process.env)
    return await fn(store)
  } finally {
    await store.close()
  }
}

async function serve(options: { config: string; demo?: boolean; listen?: string }): Promise<void> {
  const log = pino({ level: process.env.KEEL_LOG_LEVEL ?? 'info' })
  const running: { keel?: RunningKeel } = {}
  let demo: DemoTargets | undefined
  let bootstrapToken: string | undefined
  let setupPath: string | undefined
  if (options.demo) {
    demo = await startDemoTargets({
      port: Number(process.env.KEEL_DEMO_PORT ?? 8081),
      keelUrl: () => running.keel?.url,
      heartbeatToken: 'demo-nightly-backup',
      log,
    })
  }
  const keel = await startKeel({
    configPath: options.config,
    env: process.env,
    log,
    ...(options.listen ? { listen: options.listen } : {}),
    onBootstrapToken: (token) => (bootstrapToken = token),
    onBootstrapSetupLink: (path) => (setupPath = path),
  })
  running.keel = keel
  const url = keel.url
  const lines = [
    '',
    `Keel ${version} is running at ${url}`,
    `  UI:       ${url}/ (log in with a user name and password, or an API token)`,
    `  status:   ${url}/api/v1/status`,
    `  OpenAPI:  ${url}/api/openapi.json`,
    `  metrics:  ${url}/metrics`,
    `  config:   ${options.config} (send SIGHUP to reload)`,
  ]
  if (demo) lines.push(`  demo targets: ${demo.url} (webhook notifications are logged)`)
  if (setupPath) {
    lines.push(
      '',
      'First start: open this one-time link to set the password of the admin user (24 h, works once):',
      `  ${url}${setupPath}`,
      `A new link: npx keel user setup-link admin --config ${options.config}`,
    )
  }
  if (bootstrapToken) {
    lines.push(
      '',
      'First start: an admin API token was created. It is shown only this once; keep it safe:',
      `  ${bootstrapToken}`,
      'Log in by sending it as a bearer token, for example:',
      `  curl -H "Authorization: Bearer ${bootstrapToken}" ${url}/api/v1/status`,
    )
  } else {
    lines.push(
      '',
      'Log in with an API token: create one with',
      `  npx keel token create --name <you> --role admin --config ${options.config}`,
    )
  }
  out(lines.join('\n'))

  const shutdown = async (signal: string) => {
    const deadline = keel.config.server.shutdownTimeout
    log.info(
      `${signal} received; finishing checks and deliveries in flight (up to ${formatDuration(deadline)}, server.shutdownTimeout)`,
    )
    await keel.stop(deadline)
    await demo?.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGHUP', () => void keel.reload())
}

interface TokenCreateOptions {
  name: string
  role: Role
  expires?: string
  team?: string
  owner?: string
  config: string
}

function configOption(): Option {
  return new Option('-c, --config <path>', 'keel.yaml file or directory').default(defaultConfig())
}

function buildProgram(): Command {
  const program = new Command()
  program
    .name('keel')
    .description('Keel: monitors, alerts, incidents and on-call in one self-hosted service.')
    .version(version)
    .showHelpAfterError()

  program
    .command('serve')
    .description('run Keel: apply the config, start checking, serve the API')
    .addOption(configOption())
    .option('--listen <host:port>', 'override server.listen')
    .option('--demo', 'also start the local demo targets examples/keel.yaml watches')
    .action(serve)

  program
    .command('validate')
    .description('check a keel.yaml (file or directory) and list every problem')
    .addOption(configOption())
    .option('-f, --file <path>', 'same as --config')
    .action(async (options: { config: string; file?: string }) => {
      const path = options.file ?? options.config
      const loaded = await loadConfig(path, process.env)
      if (!loaded.ok) {
        process.stderr.write(
          `${path} is invalid (${loaded.issues.length} problems):\n${formatIssues(loaded.issues)}\n`,
        )
        process.exitCode = 1
        return
      }
      const { monitors, channels } = loaded.config
      // Runbook files are part of the configuration: one that does not parse cannot be used.
      const library = await loadRunbooks(loaded.config.runbooks.paths)
      if (library.issues.length > 0) {
        const lines = library.issues.map(
          (i) =>
            `  ${relative(process.cwd(), i.file) || i.file}${i.line ? `:${i.line}` : ''}: ${i.message}`,
        )
        process.stderr.write(
          `${path} is valid, but ${library.issues.length} runbook problems keep runbooks from loading:\n${lines.join('\n')}\n`,
        )
        process.exitCode = 1
        return
      }
      const runbooks = library.runbooks.length > 0 ? `, ${library.runbooks.length} runbooks` : ''
      out(
        `${path} is valid: ${Object.keys(monitors).length} monitors, ${Object.keys(channels).length} channels${runbooks}`,
      )
      for (const warning of loaded.catalog?.warnings ?? []) out(`warning: ${warning}`)
      // Only with a catalog: without one, runbook entities have nothing to be checked against.
      const entities = loaded.catalog?.entities ?? {}
      if (Object.keys(entities).length > 0) {
        for (const warning of unknownRunbookEntities(library.runbooks, entities)) {
          out(`warning: ${warning}`)
        }
      }
    })

  program
    .command('apply')
    .description('make the store match a keel.yaml; shows the plan first')
    .addOption(configOption())
    .option('-f, --file <path>', 'same as --config')
    .option('--dry-run', 'show the plan and change nothing')
    .action(async (options: { config: string; file?: string; dryRun?: boolean }) => {
      const path = options.file ?? options.config
      const loaded = await loadConfigOrThrow(path, process.env)
      await withStore(path, async (store) => {
        const desired = desiredState(loaded)
        const plan = await planApply({ db: store.db }, desired)
        if (planIsEmpty(plan)) {
          out('No changes. The store matches the config.')
          return
        }
        out(formatApplyPlan(plan).join('\n'))
        if (options.dryRun) {
          out('\nDry run: nothing was changed.')
          return
        }
        const actor = { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' as const }
        await executeApply({ db: store.db, clock: systemClock, actor }, desired)
        out('\nApplied. Running Keel nodes pick the changes up within a few seconds.')
      })
    })

  program
    .command('status')
    .description('a table of monitors and their states')
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (options: { config: string; json?: boolean }) => {
      await withStore(options.config, async (store) => {
        const monitors = await listMonitors(store.db)
        if (options.json) {
          out(
            JSON.stringify(
              monitors.map((m) => ({
                id: m.slug,
                type: m.type,
                state: m.runtime.state,
                lastCheckedAt: m.lastCheckedAt,
                lastLatencyMs: m.lastLatencyMs,
                lastMessage: m.lastMessage,
              })),
              null,
              2,
            ),
          )
          return
        }
        const now = systemClock.now()
        const rows = monitors.map((m) => [
          m.slug,
          m.type,
          m.runtime.state.toUpperCase() + (m.runtime.flapping ? ' (flapping)' : ''),
          formatAgo(m.runtime.since, now),
          formatAgo(m.lastCheckedAt, now),
          m.lastLatencyMs === undefined ? '-' : `${Math.round(m.lastLatencyMs)}ms`,
          (m.lastMessage ?? '').slice(0, 60),
        ])
        out(
          formatTable(['MONITOR', 'TYPE', 'STATE', 'SINCE', 'CHECKED', 'LATENCY', 'MESSAGE'], rows),
        )
        const counts = new Map<string, number>()
        for (const m of monitors)
          counts.set(m.runtime.state, (counts.get(m.runtime.state) ?? 0) + 1)
        out(
          `\n${monitors.length} monitors: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`,
        )
      })
    })

  program
    .command('check')
    .description('run one check now and print the result (exit 0 up, 1 degraded, 2 down)')
    .argument('<monitor>', 'monitor id')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      const loaded = await loadConfigOrThrow(options.config, process.env)
      let spec: unknown = loaded.raw.monitors[id]
      let source = 'file:'
      if (spec === undefined) {
        const row = await withStore(options.config, (store) => getMonitor(store.db, id))
        spec = row?.spec
        source = row?.source ?? source
      }
      if (spec === undefined)
        throw new NotFoundError(`monitor ${id} is neither in ${options.config} nor in the store`)
      const parsed = parseMonitorSpec(spec)
      if (!parsed.ok)
        throw new InputError(
          `monitor ${id}: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        )
      if (parsed.spec.type === 'heartbeat') {
        out(`${id}: heartbeat monitors are pushed to, not checked; see keel status`)
        return
      }
      // A monitor created through the API runs its program only if keel.yaml allows it.
      const outcome = await runCheck(parsed.spec, {
        origin: originOf(source, { commandDirs: loaded.config.checks.commandDirs }),
      })
      out(
        `${id}: ${outcome.status.toUpperCase()} in ${Math.round(outcome.latencyMs)}ms — ${outcome.message}`,
      )
      for (const metric of outcome.metrics ?? [])
        out(`  ${metric.label} = ${metric.value}${metric.unit ?? ''}`)
      process.exitCode = outcome.status === 'up' ? 0 : outcome.status === 'degraded' ? 1 : 2
    })

  const token = program.command('token').description('API tokens')
  token
    .command('create')
    .description('create an API token (printed once)')
    .requiredOption('--name <name>', 'who or what uses it')
    .addOption(new Option('--role <role>', 'role').choices(roles as string[]).default('viewer'))
    .option('--expires <duration>', 'expiry, e.g. 90d')
    .option('--team <team>', 'scope: may change only objects of this team')
    .option(
      '--owner <user>',
      'the Keel user it acts for (it stops working while they are disabled); default: you on this host',
    )
    .addOption(configOption())
    .action(async (options: TokenCreateOptions) => {
      let expiresAt: number | undefined
      if (options.expires !== undefined) {
        const ms = parseDuration(options.expires)
        if (ms === undefined)
          throw new InputError(`--expires must be a duration like 90d, got ${options.expires}`)
        expiresAt = systemClock.now() + ms
      }
      await withStore(options.config, async (store) => {
        const created = await createApiToken(
          { db: store.db, clock: systemClock },
          {
            name: options.name,
            role: options.role,
            actor: `cli:${process.env.USER ?? 'unknown'}`,
            owner: options.owner ? `user:${options.owner}` : `cli:${process.env.USER ?? 'unknown'}`,
            ...(expiresAt ? { expiresAt } : {}),
            ...(options.team ? { team: options.team } : {}),
          },
        )
        out(
          `Token ${created.name} (${created.role}) created. It is shown only now:\n${created.token}`,
        )
      })
    })

  const config = program.command('config').description('keel.yaml helpers')
  config
    .command('schema')
    .description('print the JSON Schema of keel.yaml (for editors)')
    .action(() => out(JSON.stringify(keelConfigJsonSchema(), null, 2)))
  config
    .command('validate')
    .description('same as keel validate')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      await program.parseAsync(['node', 'keel', 'validate', '--config', options.config])
    })

  addIncidentCommands(program, { configOption, withStore, out, clock: systemClock })
  addSilenceCommands(program, { configOption, withStore, out, clock: systemClock })
  addOncallCommands(program, { configOption, withStore, out, clock: systemClock })
  addRunbookCommands(program, { configOption, out, clock: systemClock })
  addCatalogCommands(program, { configOption, withStore, out, clock: systemClock })
  addAccessCommands(program, { configOption, out, clock: systemClock })
  addBackupCommands(program, { configOption, withStore, out })
  addSecretsCommands(program, { configOption, out, clock: systemClock })
  return program
}

/** Runs the `keel` command line. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv])
  } catch (error) {
    if (error instanceof ConfigLoadError) {
      process.stderr.write(`${error.message}\n`)
    } else if (error instanceof KeelError) {
      process.stderr.write(`keel: ${error.message}\n`)
    } else {
      process.stderr.write(
        `keel: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
    }
    process.exitCode = exitCodeFor(error)
  }
}

import { Option, type Command } from 'commander'
import type { Clock } from '../core/time.js'
import { reviewSuppression } from '../engine/noise.js'
import {
  createSilence,
  expireSilenceById,
  listMaintenanceWindows,
  listSilenceViews,
  type SilenceView,
} from '../services/alerting.js'
import type { ServiceContext } from '../services/context.js'
import type { Store } from '../store/dialect.js'
import { formatTable } from './format.js'

/** What the silence commands borrow from `main.ts`. */
export interface SilenceCommandDeps {
  configOption(): Option
  withStore<T>(configPath: string, fn: (store: Store) => Promise<T>): Promise<T>
  out(text: string): void
  clock: Clock
}

function short(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, 'Z')
}

function silenceRow(s: SilenceView): string[] {
  const recurring = s.recurrence
    ? ` (${s.recurrence.days.join(',')} ${s.recurrence.from}-${s.recurrence.to} ${s.recurrence.timeZone})`
    : ''
  return [
    s.id.slice(0, 8),
    s.state,
    s.matchers.join(', '),
    `${short(s.startsAt)} → ${short(s.endsAt)}${recurring}`,
    s.createdBy,
    s.comment,
  ]
}

/** `keel silence list|add|expire` and `keel maintenance list`, on the store of `--config`. */
export function addSilenceCommands(program: Command, deps: SilenceCommandDeps): void {
  const { out, withStore, configOption, clock } = deps
  const context = (store: Store): ServiceContext => ({
    db: store.db,
    clock,
    actor: { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' },
  })

  const silence = program.command('silence').description('silences: list, add, expire')

  silence
    .command('list')
    .description('silences, newest first (active and pending unless --state says otherwise)')
    .addOption(
      new Option('--state <state>', 'which silences').choices([
        'active',
        'pending',
        'expired',
        'all',
      ]),
    )
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(async (options: { state?: string; json?: boolean; config: string }) => {
      await withStore(options.config, async (store) => {
        const all = await listSilenceViews(context(store))
        const shown =
          options.state === 'all'
            ? all
            : options.state
              ? all.filter((s) => s.state === options.state)
              : all.filter((s) => s.state !== 'expired')
        if (options.json) return out(JSON.stringify(shown, null, 2))
        if (shown.length === 0) return out('No silences.')
        out(
          formatTable(
            ['ID', 'STATE', 'MATCHERS', 'WHEN (UTC)', 'BY', 'COMMENT'],
            shown.map(silenceRow),
          ),
        )
      })
    })

  silence
    .command('add')
    .description(
      'mute alerts matching every matcher, e.g. keel silence add \'service="db-main"\' --for 2h -m "failover test"',
    )
    .argument(
      '<matchers...>',
      'Alertmanager matchers such as service="db-main" or alertname=~"Disk.*"',
    )
    .requiredOption('-m, --comment <text>', 'why (required)')
    .option('--for <duration>', 'how long from the start (default 2h)')
    .option('--start <time>', 'ISO 8601 start with an offset (default now)')
    .option('--end <time>', 'ISO 8601 end with an offset (instead of --for)')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(
      async (
        matchers: string[],
        options: {
          comment: string
          for?: string
          start?: string
          end?: string
          json?: boolean
          config: string
        },
      ) => {
        await withStore(options.config, async (store) => {
          const created = await createSilence(context(store), {
            matchers,
            comment: options.comment,
            ...(options.for ? { duration: options.for } : {}),
            ...(options.start ? { startsAt: options.start } : {}),
            ...(options.end ? { endsAt: options.end } : {}),
          })
          await reviewSuppression(store.db, clock.now())
          if (options.json) return out(JSON.stringify(created, null, 2))
          out(`Silence ${created.id} is ${created.state} until ${short(created.endsAt)}.`)
        })
      },
    )

  silence
    .command('expire')
    .description('end a silence now')
    .argument('<id>', 'the silence id (as `keel silence list` prints it, or in full)')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withStore(options.config, async (store) => {
        const all = await listSilenceViews(context(store))
        const matches = all.filter((s) => s.id === id || s.id.startsWith(id))
        if (matches.length !== 1) {
          throw new Error(
            matches.length === 0
              ? `no silence has the id ${id}; run keel silence list --state all`
              : `${matches.length} silences start with ${id}; give more of the id`,
          )
        }
        const expired = await expireSilenceById(context(store), (matches[0] as SilenceView).id)
        await reviewSuppression(store.db, clock.now())
        out(`Silence ${expired.id} expired.`)
      })
    })

  program
    .command('maintenance')
    .description('maintenance windows (keel.yaml and API) with their state now')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(async (options: { json?: boolean; config: string }) => {
      await withStore(options.config, async (store) => {
        const windows = await listMaintenanceWindows(store.db, clock.now())
        if (options.json) return out(JSON.stringify(windows, null, 2))
        if (windows.length === 0) return out('No maintenance windows.')
        out(
          formatTable(
            ['ID', 'STATE', 'TITLE', 'MATCHERS', 'WHEN', 'SOURCE'],
            windows.map((w) => [
              w.id,
              w.state,
              w.title,
              w.matchers.join(', '),
              [
                ...(w.oneOff ? [`${short(w.oneOff.start)} → ${short(w.oneOff.end)}`] : []),
                ...(w.recurring
                  ? [`${w.recurring.days.join(',')} ${w.recurring.from}-${w.recurring.to}`]
                  : []),
              ].join(' ') + ` ${w.timeZone}`,
              w.source,
            ]),
          ),
        )
      })
    })
}

import type { Command, Option } from 'commander'
import { DateTime } from 'luxon'
import { InputError } from '../core/errors.js'
import { parseDuration, type Clock } from '../core/time.js'
import type { ServiceContext } from '../services/context.js'
import { readOncallConfig } from '../services/oncall.js'
import {
  createScheduleOverride,
  deleteScheduleOverride,
  listScheduleOverridesView,
  type ScheduleOverrideView,
} from '../services/schedule-overrides.js'
import type { Store } from '../store/dialect.js'
import { formatTable } from './format.js'

/** What the on-call commands borrow from `main.ts`. */
export interface OncallCommandDeps {
  configOption(): Option
  withStore<T>(configPath: string, fn: (store: Store) => Promise<T>): Promise<T>
  out(text: string): void
  clock: Clock
}

const timeHelp =
  'ISO 8601 with an offset (2026-12-05T09:00:00+01:00), or a local date-time read in the schedule’s time zone (2026-12-05T09:00 or "2026-12-05 09:00")'

/**
 * `text` as an instant: `now`, epoch ms, ISO 8601 with an offset, or a local date-time read in
 * `zone`; `--to` may also be a duration after `--from` ("12h", "2d").
 */
function instantOf(
  text: string,
  flag: '--from' | '--to',
  zone: string,
  now: number,
  from?: number,
): number {
  const trimmed = text.trim()
  if (trimmed === 'now') return now
  if (/^\d{12,}$/.test(trimmed)) return Number(trimmed)
  if (from !== undefined) {
    const length = parseDuration(trimmed)
    if (length !== undefined && /^\d/.test(trimmed)) return from + length
  }
  const iso = DateTime.fromISO(trimmed, { zone })
  const parsed = iso.isValid ? iso : DateTime.fromSQL(trimmed, { zone })
  if (!parsed.isValid || !/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(trimmed)) {
    throw new InputError(
      `\`${flag}\` must be ${flag === '--to' ? 'a duration after --from such as 12h, ' : 'now, '}${timeHelp}; got ${JSON.stringify(text)}`,
      { details: [{ path: flag, message: 'is not a time' }] },
    )
  }
  return parsed.toMillis()
}

/** An instant as `2026-12-05 09:00 +01:00` in `zone`. */
function inZone(at: number, zone: string): string {
  return DateTime.fromMillis(at, { zone }).toFormat('yyyy-LL-dd HH:mm ZZ')
}

/** `keel oncall override add|list|remove`, on the store of `--config`. */
export function addOncallCommands(program: Command, deps: OncallCommandDeps): void {
  const { out, withStore, configOption, clock } = deps
  // The CLI is trusted like `keel apply`: whoever can read keel.yaml and the store.
  const context = (store: Store): ServiceContext => ({
    db: store.db,
    clock,
    actor: { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' },
  })
  const zoneOf = async (store: Store, schedule: string): Promise<string> =>
    (await readOncallConfig(store.db)).schedules[schedule]?.timeZone ?? 'UTC'

  const oncall = program.command('oncall').description('on-call schedules')
  const override = oncall
    .command('override')
    .description(
      'overrides made outside keel.yaml (also through the API and UI): add, list, remove',
    )

  override
    .command('add')
    .description(
      'put a user on call above every layer, e.g. keel oncall override add primary --user bob --from "2026-12-05 09:00" --to 12h',
    )
    .argument('<schedule>', 'schedule id of keel.yaml')
    .requiredOption('--user <id>', 'user id of keel.yaml who takes the shift')
    .option('--from <time>', `start: now (default), epoch ms or ${timeHelp}`)
    .requiredOption('--to <time>', `end: a duration after --from (12h, 2d) or ${timeHelp}`)
    .option('--note <text>', 'why, shown in the UI')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(
      async (
        schedule: string,
        options: {
          user: string
          from?: string
          to: string
          note?: string
          json?: boolean
          config: string
        },
      ) => {
        await withStore(options.config, async (store) => {
          const zone = await zoneOf(store, schedule)
          const now = clock.now()
          const start = instantOf(options.from ?? 'now', '--from', zone, now)
          const end = instantOf(options.to, '--to', zone, now, start)
          const created = await createScheduleOverride(context(store), schedule, {
            user: options.user,
            start,
            end,
            ...(options.note !== undefined ? { note: options.note } : {}),
          })
          if (options.json) return out(JSON.stringify(created, null, 2))
          out(
            `Override ${created.id}: ${created.user} is on call in ${schedule} from ${inZone(created.start, zone)} to ${inZone(created.end, zone)} (${zone}).`,
          )
        })
      },
    )

  override
    .command('list')
    .description('current and upcoming overrides of a schedule, in the order they were made')
    .argument('<schedule>', 'schedule id of keel.yaml')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(async (schedule: string, options: { json?: boolean; config: string }) => {
      await withStore(options.config, async (store) => {
        const items = await listScheduleOverridesView(context(store), schedule)
        if (options.json) return out(JSON.stringify(items, null, 2))
        if (items.length === 0) return out(`No current or upcoming overrides in ${schedule}.`)
        const zone = await zoneOf(store, schedule)
        out(
          formatTable(
            ['ID', 'USER', `FROM (${zone})`, 'TO', 'BY', 'NOTE'],
            items.map((o) => [
              o.id.slice(0, 8),
              o.name !== undefined ? `${o.user} (${o.name})` : o.user,
              inZone(o.start, zone),
              inZone(o.end, zone),
              o.createdBy,
              o.note ?? '',
            ]),
          ),
        )
      })
    })

  override
    .command('remove')
    .description('remove an override (those in keel.yaml change with keel.yaml)')
    .argument('<schedule>', 'schedule id of keel.yaml')
    .argument('<id>', 'the override id (as `keel oncall override list` prints it, or in full)')
    .addOption(configOption())
    .action(async (schedule: string, id: string, options: { config: string }) => {
      await withStore(options.config, async (store) => {
        const items = await listScheduleOverridesView(context(store), schedule)
        const matches = items.filter((o) => o.id === id || o.id.startsWith(id))
        if (matches.length > 1) {
          throw new InputError(`${matches.length} overrides start with ${id}; give more of the id`)
        }
        // A past override is no longer listed; its full id still removes it.
        const target = (matches[0] as ScheduleOverrideView | undefined)?.id ?? id
        await deleteScheduleOverride(context(store), schedule, target)
        out(`Override ${target} removed from ${schedule}.`)
      })
    })
}

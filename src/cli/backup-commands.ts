import { writeFile } from 'node:fs/promises'
import type { Command, Option } from 'commander'
import { backupStore, restoreStore, type BackupReport } from '../services/backup.js'
import { exportConfig } from '../services/export.js'
import type { Store } from '../store/dialect.js'
import { loadConfigOrThrow } from './start-keel.js'

/** What the backup, restore and export commands borrow from `main.ts`. */
export interface BackupCommandDeps {
  configOption(): Option
  withStore<T>(configPath: string, fn: (store: Store) => Promise<T>): Promise<T>
  out(text: string): void
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function summary(verb: string, report: BackupReport): string {
  return `${verb} ${report.file}: ${formatBytes(report.bytes)} in ${Math.round(report.durationMs)} ms (schema ${report.schemaVersion})`
}

/** Adds `keel backup`, `keel restore` and `keel export` to the program. */
export function addBackupCommands(program: Command, deps: BackupCommandDeps): void {
  program
    .command('backup')
    .description('copy the store to a file while Keel runs (SQLite backup API, or pg_dump)')
    .argument('<file>', 'where to write the backup')
    .addOption(deps.configOption())
    .option('--force', 'overwrite the file if it exists')
    .action(async (file: string, options: { config: string; force?: boolean }) => {
      const loaded = await loadConfigOrThrow(options.config, process.env)
      const report = await backupStore(loaded.config.store, file, { force: options.force ?? false })
      deps.out(summary('Backed up to', report))
    })

  program
    .command('restore')
    .description(
      'restore a backup into the configured store (empty unless --force); stop Keel first',
    )
    .argument('<file>', 'a file made by keel backup')
    .addOption(deps.configOption())
    .option('--force', 'restore even over a store that holds data (it is replaced)')
    .action(async (file: string, options: { config: string; force?: boolean }) => {
      const loaded = await loadConfigOrThrow(options.config, process.env)
      const report = await restoreStore(loaded.config.store, file, {
        force: options.force ?? false,
      })
      deps.out(summary('Restored from', report))
    })

  program
    .command('export')
    .description(
      'print API-created monitors and channels as keel.yaml; secrets become ${ENV} placeholders',
    )
    .addOption(deps.configOption())
    .option('--all', 'also include objects that came from keel.yaml files')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (options: { config: string; all?: boolean; output?: string }) => {
      // withStore opens the sealed secrets, so each field of an object secret gets its own name.
      const text = await deps.withStore(options.config, (store) =>
        exportConfig(store.db, { all: options.all ?? false }),
      )
      if (options.output) await writeFile(options.output, text)
      else process.stdout.write(text)
    })
}

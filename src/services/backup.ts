import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { promisify } from 'node:util'
import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'
import { ConflictError, InputError } from '../core/errors.js'
import type { StoreLocation } from '../store/dialect.js'
import { migrations } from '../store/migrations.js'

const run = promisify(execFile)

/** What a backup or restore did, for the CLI to print. */
export interface BackupReport {
  file: string
  bytes: number
  durationMs: number
  /** The newest migration in the copy: the schema version it carries. */
  schemaVersion: string
}

/** Options of `backupStore` and `restoreStore`. */
export interface BackupOptions {
  /** Overwrite an existing backup file, or restore into a store that holds data. */
  force?: boolean
  /** The clock that measures the duration; `performance.now` when omitted. */
  now?: () => number
}

// Tables whose rows make a store "in use": restoring over them would lose data.
const dataTables = ['monitors', 'channels', 'incidents', 'check_results', 'alerts']

function newest(names: readonly string[]): string {
  return [...names].sort().at(-1) ?? 'none'
}

/** Checks that every migration a copy carries is one this Keel knows, and names the newest. */
function checkSchemaVersion(names: readonly string[], file: string): string {
  if (names.length === 0) {
    throw new InputError(`${file} is not a Keel backup: it has no kysely_migration rows`)
  }
  const known = new Set(Object.keys(migrations('sqlite')))
  const unknown = names.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw new InputError(
      `${file} was made by a newer Keel (schema ${newest(names)}; unknown migrations: ${unknown.join(', ')}); restore it with that version or newer`,
    )
  }
  return newest(names)
}

function sqliteMigrations(database: SqliteDatabase.Database): string[] {
  const table = database
    .prepare("select name from sqlite_master where type = 'table' and name = 'kysely_migration'")
    .get()
  if (!table) return []
  return (database.prepare('select name from kysely_migration').all() as { name: string }[]).map(
    (row) => row.name,
  )
}

function refuseExistingFile(file: string, force: boolean | undefined): void {
  if (!force && existsSync(file)) {
    throw new ConflictError(
      `backup file ${file} already exists; choose another name or pass --force`,
    )
  }
}

async function pgTool(tool: 'pg_dump' | 'pg_restore', args: string[]): Promise<string> {
  try {
    // execFile with an argument list: no shell ever sees the URL or the file name.
    const { stdout } = await run(tool, args, { maxBuffer: 256 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const err = error as { code?: unknown; stderr?: string; message: string }
    if (err.code === 'ENOENT') {
      throw new Error(
        `${tool} is not installed; install the PostgreSQL client tools (Debian: postgresql-client) of the server's major version`,
        { cause: error },
      )
    }
    throw new Error(`${tool} failed: ${(err.stderr ?? err.message).trim()}`, { cause: error })
  }
}

/**
 * Copies a live store to `file`: SQLite through its online backup API (consistent while Keel
 * writes), PostgreSQL with `pg_dump --format=custom`.
 */
export async function backupStore(
  location: StoreLocation,
  file: string,
  options: BackupOptions = {},
): Promise<BackupReport> {
  const now = options.now ?? (() => performance.now())
  const started = now()
  refuseExistingFile(file, options.force)
  let schemaVersion: string
  if (location.driver === 'sqlite') {
    if (location.path === ':memory:' || !existsSync(location.path)) {
      throw new InputError(`store.path ${location.path} is not a database file to back up`)
    }
    if (options.force) await rm(file, { force: true })
    const database = new SqliteDatabase(location.path, { readonly: true, fileMustExist: true })
    try {
      schemaVersion = checkSchemaVersion(sqliteMigrations(database), location.path)
      await database.backup(file)
    } finally {
      database.close()
    }
  } else {
    await pgTool('pg_dump', ['--format=custom', '--no-owner', `--file=${file}`, location.url])
    schemaVersion = checkSchemaVersion(await dumpedMigrations(file), file)
  }
  return { file, bytes: statSync(file).size, durationMs: now() - started, schemaVersion }
}

// The migration names in a custom-format dump, read from its COPY data without restoring it.
async function dumpedMigrations(file: string): Promise<string[]> {
  const script = await pgTool('pg_restore', [
    '--data-only',
    '--table=kysely_migration',
    '--file=-',
    file,
  ])
  const names: string[] = []
  let inCopy = false
  for (const line of script.split('\n')) {
    if (line.startsWith('COPY ') && line.includes('kysely_migration')) inCopy = true
    else if (inCopy && line === '\\.') inCopy = false
    else if (inCopy && line !== '') names.push(line.split('\t')[0] as string)
  }
  return names
}

async function sqliteInUse(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined
  const database = new SqliteDatabase(path, { readonly: true })
  try {
    for (const table of dataTables) {
      const exists = database
        .prepare("select name from sqlite_master where type = 'table' and name = ?")
        .get(table)
      if (!exists) continue
      const row = database.prepare(`select count(*) as n from ${table}`).get() as { n: number }
      if (row.n > 0) return `${table} has ${row.n} rows`
    }
    return undefined
  } finally {
    database.close()
  }
}

async function postgresInUse(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const table of dataTables) {
      const exists = await client.query('select to_regclass($1) as t', [`public.${table}`])
      if ((exists.rows[0] as { t: string | null }).t === null) continue
      // The table name comes from the constant list above, never from input.
      const count = await client.query(`select count(*)::int as n from ${table}`)
      const n = (count.rows[0] as { n: number }).n
      if (n > 0) return `${table} has ${n} rows`
    }
    return undefined
  } finally {
    await client.end()
  }
}

/**
 * Restores a backup made by `backupStore` into the configured store, which must hold no data
 * unless `force` is set; refuses a backup whose schema is newer than this Keel. Stop Keel first.
 */
export async function restoreStore(
  location: StoreLocation,
  file: string,
  options: BackupOptions = {},
): Promise<BackupReport> {
  const now = options.now ?? (() => performance.now())
  const started = now()
  if (!existsSync(file)) throw new InputError(`backup file ${file} does not exist`)
  let schemaVersion: string
  if (location.driver === 'sqlite') {
    const source = new SqliteDatabase(file, { readonly: true, fileMustExist: true })
    try {
      const check = source.pragma('integrity_check', { simple: true })
      if (check !== 'ok') throw new InputError(`backup file ${file} is damaged: ${String(check)}`)
      schemaVersion = checkSchemaVersion(sqliteMigrations(source), file)
      const inUse = await sqliteInUse(location.path)
      if (inUse && !options.force) {
        throw new ConflictError(
          `store ${location.path} is not empty (${inUse}); restore into a new path or pass --force`,
        )
      }
      // The backup API writes through SQLite, so a WAL left by the old file stays consistent.
      await source.backup(location.path)
    } finally {
      source.close()
    }
  } else {
    schemaVersion = checkSchemaVersion(await dumpedMigrations(file), file)
    const inUse = await postgresInUse(location.url)
    if (inUse && !options.force) {
      throw new ConflictError(
        `the PostgreSQL store is not empty (${inUse}); restore into a new database or pass --force`,
      )
    }
    await pgTool('pg_restore', [
      '--clean',
      '--if-exists',
      '--no-owner',
      '--single-transaction',
      `--dbname=${location.url}`,
      file,
    ])
  }
  return { file, bytes: statSync(file).size, durationMs: now() - started, schemaVersion }
}

import SqliteDatabase from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely'
import pg from 'pg'
import { migrations } from './migrations.js'
import type { Database } from './schema.js'

/** The two SQL dialects Keel speaks. */
export type Dialect = 'sqlite' | 'postgres'

/** Where the store lives: a SQLite file (the default) or a PostgreSQL database. */
export type StoreLocation =
  { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; poolSize?: number }

/** A Kysely handle over Keel's schema. */
export type Db = Kysely<Database>

/** A handle or an open transaction: every query function accepts either. */
export type Executor = Kysely<Database> | Transaction<Database>

/** An open store: the query handle, its dialect, and how to close it. */
export interface Store {
  db: Db
  dialect: Dialect
  close(): Promise<void>
}

const dialects = new WeakMap<object, Dialect>()

// int8 and numeric come back from pg as strings; Keel's instants and counts fit in a double.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  },
}

/** Opens (and migrates) the store at `location`. */
export async function openStore(location: StoreLocation): Promise<Store> {
  let db: Db
  let dialect: Dialect
  if (location.driver === 'sqlite') {
    const database = new SqliteDatabase(location.path)
    // WAL lets readers (API) run beside the writer (engine); NORMAL sync is durable in WAL mode
    // against a process crash, which is what kill -9 tests.
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    database.pragma('busy_timeout = 5000')
    database.pragma('foreign_keys = ON')
    cachePreparedStatements(database)
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
    dialect = 'sqlite'
  } else {
    const pool = new pg.Pool({
      connectionString: location.url,
      max: location.poolSize ?? 10,
      types: pgTypes,
    })
    // An idle client can be ended by the server (restart, failover, a dropped test database);
    // pg emits that on the pool, where an unhandled 'error' would crash the process. The next
    // query simply gets a new connection.
    pool.on('error', () => undefined)
    pool.on('connect', (client) => storableParameters(client))
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    dialect = 'postgres'
  }
  dialects.set(db, dialect)
  await migrate(db, dialect)
  return {
    db,
    dialect,
    async close() {
      await db.destroy()
    },
  }
}

/** Brings the schema up to the newest migration; fails loudly if one does not apply. */
export async function migrate(db: Db, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`store migration ${failed} failed: ${String(error)}`, { cause: error })
  }
}

/** The dialect of a handle opened by `openStore` (transactions report their parent's). */
export function dialectOf(db: Executor): Dialect {
  return (
    dialects.get(db) ??
    (db.getExecutor().adapter.constructor.name.startsWith('Postgres') ? 'postgres' : 'sqlite')
  )
}

/**
 * The row-locking suffix for claiming work. PostgreSQL skips rows another node holds; SQLite has
 * one writer at a time, so the surrounding transaction already serialises claims.
 */
export function skipLocked(db: Executor) {
  return dialectOf(db) === 'postgres' ? sql`for update skip locked` : sql``
}

/** Parses a JSON text column, tolerating NULL. */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback
  return JSON.parse(text) as T
}

/**
 * PostgreSQL's text type cannot hold U+0000 (the query fails with "invalid byte sequence"), and
 * a stray NUL arrives easily: a cron job's binary output in a ping body, a plugin's garbage, a
 * fuzzed ingest summary. Rather than refuse the whole event, both stores write U+FFFD (the
 * replacement character) in its place, so a value reads back the same on SQLite and PostgreSQL.
 * JSON columns are unaffected: JSON.stringify already escapes NUL as the six characters \u0000.
 */
function storableValue(value: unknown): unknown {
  if (typeof value === 'string')
    return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value
  if (Array.isArray(value)) return value.some(needsReplacing) ? value.map(storableValue) : value
  return value
}

function needsReplacing(value: unknown): boolean {
  return typeof value === 'string'
    ? value.includes('\0')
    : Array.isArray(value) && value.some(needsReplacing)
}

/** Patches one pooled PostgreSQL client so its query parameters are storable (see above). */
function storableParameters(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (
    ...args: unknown[]
  ) => {
    if (args.length > 1) args[1] = storableValue(args[1])
    return query(...args)
  }
}

/**
 * Kysely prepares every query anew; preparing is a large share of a small query's cost on
 * SQLite. The engine runs the same few statements thousands of times a second, so keep them.
 */
function cachePreparedStatements(database: SqliteDatabase.Database): void {
  const prepare = database.prepare.bind(database)
  const cache = new Map<string, SqliteDatabase.Statement>()
  database.prepare = ((source: string) => {
    let statement = cache.get(source)
    if (!statement) {
      statement = storableStatement(prepare(source))
      // Bulk inserts vary in row count; only keep a bounded number of distinct texts.
      if (cache.size < 1_000) cache.set(source, statement)
    }
    return statement
  }) as typeof database.prepare
}

/** Wraps a statement's run/all/get/iterate so string parameters are storable (see above). */
function storableStatement(statement: SqliteDatabase.Statement): SqliteDatabase.Statement {
  for (const name of ['run', 'all', 'get', 'iterate'] as const) {
    const method = (statement[name] as (...args: unknown[]) => unknown).bind(statement)
    ;(statement as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      method(...(args.some(needsReplacing) ? args.map(storableValue) : args))
  }
  return statement
}

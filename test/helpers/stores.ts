import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openStore, type Store, type StoreLocation } from '../../src/store/dialect.js'
import { requireOrSkip } from './require-or-skip.js'

/** One store kind the contract suites run on. */
export interface StoreKind {
  name: 'sqlite' | 'postgres'
  /** Why the kind is skipped on this machine, when it is. */
  skipReason?: string
  /** A fresh, empty, migrated store of this kind; `cleanup` removes it. */
  create(): Promise<{ store: Store; location: StoreLocation; cleanup(): Promise<void> }>
}

const postgresUrl = process.env.KEEL_TEST_POSTGRES_URL

/** Why the PostgreSQL half is skipped here (under CI=true a missing URL fails instead). */
const postgresSkipReason = postgresUrl
  ? undefined
  : requireOrSkip(
      'postgres',
      'KEEL_TEST_POSTGRES_URL is not set, so the PostgreSQL half of every store test is skipped',
    )

/** A fresh, empty store location of this kind (a temp file, or a new PostgreSQL database). */
export async function freshLocation(
  kind: 'sqlite' | 'postgres',
): Promise<{ location: StoreLocation; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keel-test-'))
    return {
      location: { driver: 'sqlite', path: join(dir, 'keel.db') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  if (!postgresUrl) throw new Error('KEEL_TEST_POSTGRES_URL is not set')
  const name = `keel_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(postgresUrl)
  url.pathname = `/${name}`
  return {
    location: { driver: 'postgres', url: url.toString(), poolSize: 4 },
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      // pg-pool's end() resolves before its sockets close; wait for them so the forced drop does
      // not kill a connection that is still closing (an unhandled 57P01 in the test process).
      for (let i = 0; i < 50; i++) {
        const open = await client.query(
          'select count(*)::int as n from pg_stat_activity where datname = $1',
          [name],
        )
        if ((open.rows[0] as { n: number }).n === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

/** SQLite always; PostgreSQL when `KEEL_TEST_POSTGRES_URL` names a server (CI sets it). */
export const storeKinds: StoreKind[] = (['sqlite', 'postgres'] as const).map((name) => ({
  name,
  ...(name === 'postgres' && postgresSkipReason ? { skipReason: postgresSkipReason } : {}),
  async create() {
    const { location, drop } = await freshLocation(name)
    const store = await openStore(location)
    return {
      store,
      location,
      async cleanup() {
        await store.close()
        await drop()
      },
    }
  },
}))

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, type Store, type StoreLocation } from '../src/store/dialect.js'
import {
  killKeelProcess,
  runKeelCli,
  startKeelProcess,
  waitUntil,
  type KeelProcess,
} from './helpers/keel-process.js'
import { freshLocation, storeKinds } from './helpers/stores.js'

const secretKey = 'backup-test-secret-key-0123456789-abcdef'
const webhookSecret = 'hunter2-webhook-header-value'
const env = { KEEL_SECRET_KEY: secretKey }
const tables = [
  'kysely_migration',
  'monitors',
  'channels',
  'check_results',
  'incidents',
  'alerts',
  'audit_events',
] as const

function configText(location: StoreLocation): string {
  const storeLine =
    location.driver === 'sqlite'
      ? 'store: { driver: sqlite, path: keel.db }'
      : `store: { driver: postgres, url: "${location.url}", poolSize: 4 }`
  return `
${storeLine}
monitors:
  nightly-backup: { type: heartbeat, token: backup-test-token, period: 1h, grace: 5m, retries: 0 }
channels:
  ops-hook:
    type: webhook
    url: "http://127.0.0.1:9/hook"
    headers: { Authorization: "Bearer ${webhookSecret}" }
`
}

async function counts(store: Store): Promise<Record<string, number>> {
  const result: Record<string, number> = {}
  for (const table of tables) {
    const { rows } = await sql<{
      n: number
    }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)
    result[table] = Number(rows[0]?.n)
  }
  return result
}

describe.each(storeKinds)('keel backup and keel restore on $name', (kind) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it.skipIf(kind.skipReason !== undefined)(
    'backs up a running Keel and restores into a fresh store with the same rows',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keel-backup-'))
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
      const source = await freshLocation(kind.name)
      const target = await freshLocation(kind.name)
      cleanups.push(source.drop, target.drop)
      const sourceDir = join(dir, 'source')
      const targetDir = join(dir, 'target')
      for (const [path, location] of [
        [sourceDir, source.location],
        [targetDir, target.location],
      ] as const) {
        mkdirSync(path, { recursive: true })
        writeFileSync(join(path, 'keel.yaml'), configText(location))
      }
      const sourceLocation: StoreLocation =
        source.location.driver === 'sqlite'
          ? { driver: 'sqlite', path: join(sourceDir, 'keel.db') }
          : source.location
      const targetLocation: StoreLocation =
        target.location.driver === 'sqlite'
          ? { driver: 'sqlite', path: join(targetDir, 'keel.db') }
          : target.location

      const keel: KeelProcess = await startKeelProcess(join(sourceDir, 'keel.yaml'), sourceDir, env)
      cleanups.push(() => killKeelProcess(keel))
      for (let i = 0; i < 20; i++) {
        const ok = await fetch(`${keel.url}/ping/backup-test-token`, { method: 'POST' })
        expect(ok.status).toBe(200)
      }
      expect(
        (await fetch(`${keel.url}/ping/backup-test-token/fail`, { method: 'POST' })).status,
      ).toBe(200)
      const store = await openStore(sourceLocation)
      cleanups.push(() => store.close())
      await waitUntil(
        'the failed backup job to open an incident',
        async () => ((await counts(store)).incidents ?? 0) > 0,
        30_000,
      )

      const file = join(dir, 'keel.backup')
      const backup = await runKeelCli(['backup', file, '--config', 'keel.yaml'], sourceDir, env)
      expect(backup.stderr).toBe('')
      expect(backup.stdout).toMatch(
        /^Backed up to .*keel\.backup: [\d.]+ (B|KiB|MiB) in \d+ ms \(schema \d{4}-/,
      )
      const again = await runKeelCli(['backup', file, '--config', 'keel.yaml'], sourceDir, env)
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('already exists; choose another name or pass --force')

      keel.process.kill('SIGTERM')
      expect(await keel.exited).toBe(0)
      const before = await counts(store)
      expect(before.check_results).toBeGreaterThanOrEqual(21)

      const restore = await runKeelCli(['restore', file, '--config', 'keel.yaml'], targetDir, env)
      expect(restore.stderr).toBe('')
      expect(restore.stdout).toMatch(/^Restored from /)
      const restored = await openStore(targetLocation)
      cleanups.push(() => restored.close())
      expect(await counts(restored)).toEqual(before)
      const incident = (db: Store) =>
        db.db.selectFrom('incidents').select(['id', 'title', 'status']).orderBy('id').execute()
      expect(await incident(restored)).toEqual(await incident(store))
      const raw = (db: Store) =>
        db.db.withoutPlugins().selectFrom('channels').select(['slug', 'spec']).execute()
      const restoredChannels = await raw(restored)
      expect(restoredChannels).toEqual(await raw(store))
      // Secrets stay sealed in the backup; the same KEEL_SECRET_KEY opens them.
      expect(JSON.stringify(restoredChannels)).not.toContain(webhookSecret)
      if (sourceLocation.driver === 'sqlite') {
        expect(readFileSync(file).toString('latin1')).not.toContain(webhookSecret)
      }

      const refused = await runKeelCli(['restore', file, '--config', 'keel.yaml'], targetDir, env)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/is not empty \(monitors has 1 rows\).*pass --force/)

      const exported = await runKeelCli(
        ['export', '--all', '--config', 'keel.yaml'],
        targetDir,
        env,
      )
      expect(exported.stderr).toBe('')
      expect(exported.stdout).not.toContain(webhookSecret)
      expect(exported.stdout).toContain('Authorization: ${OPS_HOOK_HEADERS_AUTHORIZATION}')
      expect(exported.stdout).toContain('token: ${NIGHTLY_BACKUP_TOKEN}')
    },
    300_000,
  )
})

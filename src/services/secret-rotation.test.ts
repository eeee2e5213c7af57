import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { secretFieldsOf } from '../config/redact.js'
import { listChannels, upsertChannel } from '../store/channels.js'
import type { Store } from '../store/dialect.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import {
  decryptValue,
  encryptedPrefix,
  resealStoredSecrets,
  secretBoxFrom,
  withSecrets,
} from '../store/secrets.js'
import { loadOrCreateSecretKey } from './ack-links.js'
import { newKeySuffix, previousSecretKeys, rotateSecretKey } from './secret-rotation.js'

const t0 = Date.UTC(2026, 11, 6, 5, 0, 0)
const password = 'db-password-before-rotation'
const header = 'Bearer webhook-secret-before-rotation'
const oldEnvKey = 'old-environment-key-0123456789-abcdefgh'
const newEnvKey = 'new-environment-key-0123456789-abcdefgh'

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`keel secrets rotate on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let dir: string
    let keyPath: string

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
      dir = mkdtempSync(join(tmpdir(), 'keel-rotate-'))
      keyPath = join(dir, 'keel.key')
    })
    afterEach(async () => {
      await cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    /** A handle that seals and opens as `keel serve` would with these root keys. */
    const sealedWith = (root: Uint8Array, previous: Uint8Array[] = []) =>
      withSecrets({ ...store }, secretBoxFrom(root, 'test', previous), secretFieldsOf)

    async function storeSecrets(root: Uint8Array): Promise<number> {
      const sealed = sealedWith(root)
      const monitor = await insertMonitor(
        sealed.db,
        {
          slug: 'db-main',
          type: 'postgres',
          spec: { type: 'postgres', host: '127.0.0.1', user: 'keel', password },
          source: 'api',
          paused: false,
        },
        t0,
        t0,
      )
      await upsertChannel(
        sealed.db,
        {
          slug: 'ops-hook',
          type: 'webhook',
          spec: { type: 'webhook', url: 'http://127.0.0.1:9/', headers: { Authorization: header } },
          source: 'api',
        },
        t0,
      )
      return monitor.id
    }

    async function rawSpecs(): Promise<string[]> {
      const monitors = await store.db.selectFrom('monitors').select('spec').execute()
      const channels = await store.db.selectFrom('channels').select('spec').execute()
      return [...monitors, ...channels].map((row) => row.spec)
    }

    async function secretsOpenWith(root: Uint8Array, previous: Uint8Array[] = []) {
      const sealed = sealedWith(root, previous)
      const monitor = await getMonitor(sealed.db, 'db-main')
      const channel = (await listChannels(sealed.db))[0]
      return {
        password: monitor?.spec.password,
        header: (channel?.spec.headers as Record<string, string> | undefined)?.Authorization,
      }
    }

    it('seals every secret with a new key file and keeps the old key aside', async () => {
      const oldKey = await loadOrCreateSecretKey(keyPath)
      await storeSecrets(oldKey)
      const before = await rawSpecs()

      const report = await rotateSecretKey({
        store,
        keyPath,
        env: {},
        now: t0,
        fieldsOf: secretFieldsOf,
      })
      expect(report).toMatchObject({ rows: 2, source: 'file', keyPath })

      const newKey = await loadOrCreateSecretKey(keyPath)
      expect(Buffer.from(newKey).equals(Buffer.from(oldKey))).toBe(false)
      expect(readFileSync(`${keyPath}.previous`, 'utf8')).toBe(
        `${Buffer.from(oldKey).toString('base64url')}\n`,
      )
      expect(existsSync(keyPath + newKeySuffix)).toBe(false)
      const after = await rawSpecs()
      expect(after).not.toEqual(before)
      for (const spec of after) {
        expect(spec).toContain(encryptedPrefix)
        expect(spec).not.toContain(password)
        expect(spec).not.toContain(header)
      }
      // The new key alone opens everything; the old key alone opens nothing any more.
      expect(await secretsOpenWith(newKey)).toEqual({ password, header })
      const envelope = /"password":"([^"]+)"/.exec(after.find((s) => s.includes('password')) ?? '')
      expect(() => decryptValue(secretBoxFrom(oldKey, 'old'), envelope?.[1] ?? '')).toThrow(
        /does not decrypt with the key from old/,
      )
      // What `keel serve` reads at start: keel.key plus keel.key.previous for older backups.
      expect(await previousSecretKeys({ env: {}, keyPath })).toEqual([oldKey])
    })

    it('refuses while a node holds monitor leases, unless forced', async () => {
      const oldKey = await loadOrCreateSecretKey(keyPath)
      const id = await storeSecrets(oldKey)
      await store.db
        .updateTable('monitors')
        .set({ lease_owner: 'node-a', lease_until: t0 + 30_000 })
        .where('id', '=', id)
        .execute()
      const before = await rawSpecs()
      await expect(
        rotateSecretKey({ store, keyPath, env: {}, now: t0, fieldsOf: secretFieldsOf }),
      ).rejects.toThrow(/Keel is running: node-a \(until .*\) holds monitor leases/)
      expect(await rawSpecs()).toEqual(before)
      expect(existsSync(keyPath + newKeySuffix)).toBe(false)
      // An expired lease (a crashed node) does not count.
      const later = await rotateSecretKey({
        store,
        keyPath,
        env: {},
        now: t0 + 30_001,
        fieldsOf: secretFieldsOf,
      })
      expect(later.rows).toBe(2)
      await store.db
        .updateTable('monitors')
        .set({ lease_until: t0 + 90_000 })
        .where('id', '=', id)
        .execute()
      const forced = await rotateSecretKey({
        store,
        keyPath,
        env: {},
        now: t0 + 60_000,
        fieldsOf: secretFieldsOf,
        force: true,
      })
      expect(forced.rows).toBe(2)
    })

    it('finishes a rotation that committed but stopped before swapping the key files', async () => {
      const oldKey = await loadOrCreateSecretKey(keyPath)
      await storeSecrets(oldKey)
      // As if the last run wrote keel.key.new, committed, and died before the rename.
      const pending = Buffer.alloc(32, 7)
      writeFileSync(keyPath + newKeySuffix, `${pending.toString('base64url')}\n`)
      await store.db
        .transaction()
        .execute((trx) =>
          resealStoredSecrets(
            trx,
            secretBoxFrom(oldKey, 'old'),
            secretBoxFrom(pending, 'pending'),
            secretFieldsOf,
          ),
        )
      // A start in between still opens the secrets through keel.key.new.
      const fallbacks = await previousSecretKeys({ env: {}, keyPath })
      expect(await secretsOpenWith(oldKey, fallbacks)).toEqual({ password, header })

      await rotateSecretKey({ store, keyPath, env: {}, now: t0, fieldsOf: secretFieldsOf })
      expect(Buffer.from(await loadOrCreateSecretKey(keyPath)).equals(pending)).toBe(true)
      expect(existsSync(keyPath + newKeySuffix)).toBe(false)
      expect(await secretsOpenWith(pending)).toEqual({ password, header })
    })

    it('takes the new key from KEEL_NEW_SECRET_KEY when KEEL_SECRET_KEY is set', async () => {
      await storeSecrets(Buffer.from(oldEnvKey))
      await expect(
        rotateSecretKey({
          store,
          keyPath,
          env: { KEEL_SECRET_KEY: oldEnvKey },
          now: t0,
          fieldsOf: secretFieldsOf,
        }),
      ).rejects.toThrow(/set KEEL_NEW_SECRET_KEY to a new random value/)
      await expect(
        rotateSecretKey({
          store,
          keyPath,
          env: { KEEL_SECRET_KEY: oldEnvKey, KEEL_NEW_SECRET_KEY: 'short' },
          now: t0,
          fieldsOf: secretFieldsOf,
        }),
      ).rejects.toThrow(/KEEL_NEW_SECRET_KEY must be at least 32 characters/)

      const report = await rotateSecretKey({
        store,
        keyPath,
        env: { KEEL_SECRET_KEY: oldEnvKey, KEEL_NEW_SECRET_KEY: newEnvKey },
        now: t0,
        fieldsOf: secretFieldsOf,
      })
      expect(report).toEqual({ rows: 2, source: 'env' })
      expect(existsSync(keyPath)).toBe(false)
      expect(await secretsOpenWith(Buffer.from(newEnvKey))).toEqual({ password, header })
      const previous = await previousSecretKeys({
        env: { KEEL_SECRET_KEY_PREVIOUS: oldEnvKey },
        keyPath,
      })
      expect(previous.map((k) => Buffer.from(k).toString())).toEqual([oldEnvKey])
    })
  })
}

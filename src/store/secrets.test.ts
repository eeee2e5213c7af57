import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { secretFieldsOf } from '../config/redact.js'
import { listChannels, upsertChannel } from './channels.js'
import { openStore, type Store, type StoreLocation } from './dialect.js'
import { getMonitor, insertMonitor, updateMonitorSpec } from './monitors.js'
import {
  decryptValue,
  encryptValue,
  encryptedPrefix,
  SecretDecryptionError,
  sealStoredSecrets,
  secretBoxFrom,
  withSecrets,
} from './secrets.js'

const t0 = Date.UTC(2026, 0, 1)
const password = 'pg-Pa55word-that-must-not-leak'
const botToken = '123456:telegram-bot-token-that-must-not-leak'

const box = secretBoxFrom(randomBytes(32), 'secret key file /var/lib/keel/keel.key')

const monitorSpec = {
  type: 'postgres',
  host: '127.0.0.1',
  user: 'keel',
  password,
  query: 'select 1',
}
const channelSpec = { type: 'telegram', botToken, chatId: '42' }

/** The stored spec rows without the plugin, plus the SQLite files byte for byte. */
async function rawRows(store: Store): Promise<string> {
  const raw = store.db.withoutPlugins()
  const monitors = await raw.selectFrom('monitors').select('spec').execute()
  const channels = await raw.selectFrom('channels').select('spec').execute()
  return JSON.stringify([monitors, channels])
}

async function rawText(store: Store, location: StoreLocation): Promise<string> {
  let text = await rawRows(store)
  if (location.driver === 'sqlite') {
    // The database file and its write-ahead log, byte for byte.
    const dir = dirname(location.path)
    for (const file of readdirSync(dir)) text += readFileSync(join(dir, file)).toString('latin1')
  }
  return text
}

describe('secret envelopes', () => {
  it('round-trips any JSON value and never repeats a ciphertext', () => {
    const a = encryptValue(box, { Authorization: 'Bearer x' })
    const b = encryptValue(box, { Authorization: 'Bearer x' })
    expect(a.startsWith(encryptedPrefix)).toBe(true)
    expect(a).not.toBe(b)
    expect(decryptValue(box, a)).toEqual({ Authorization: 'Bearer x' })
  })

  it('refuses a wrong key or a changed ciphertext with an error naming the key source', () => {
    const sealed = encryptValue(box, 'secret')
    const other = secretBoxFrom(randomBytes(32), 'KEEL_SECRET_KEY')
    expect(() => decryptValue(other, sealed)).toThrow(/key from KEEL_SECRET_KEY/)
    const tampered = `${sealed.slice(0, -6)}AAAAAA`
    expect(() => decryptValue(box, tampered)).toThrow(SecretDecryptionError)
    expect(() => decryptValue(box, `${encryptedPrefix}abc`)).toThrow(/secret key file/)
  })

  it('derives different keys from different roots and the same key from the same root', () => {
    const root = randomBytes(32)
    expect(secretBoxFrom(root, 'a').key.equals(secretBoxFrom(root, 'b').key)).toBe(true)
    expect(secretBoxFrom(root, 'a').key.equals(Buffer.from(root))).toBe(false)
  })
})

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`secrets at rest on ${kind.name}`, () => {
    it('stores monitor and channel secrets only encrypted and reads them back in clear', async () => {
      const { store, location, cleanup } = await kind.create()
      try {
        withSecrets(store, box, secretFieldsOf)
        await insertMonitor(
          store.db,
          { slug: 'db-main', type: 'postgres', spec: monitorSpec, source: 'api', paused: false },
          t0,
          t0,
        )
        await upsertChannel(
          store.db,
          { slug: 'ops-tg', type: 'telegram', spec: channelSpec, source: 'api' },
          t0,
        )
        await store.db.transaction().execute(async (trx) => {
          await updateMonitorSpec(
            trx,
            'db-main',
            {
              type: 'postgres',
              spec: { ...monitorSpec, port: 5432 },
              source: 'api',
              paused: false,
            },
            t0 + 1,
          )
        })
        const raw = await rawText(store, location)
        expect(raw).not.toContain(password)
        expect(raw).not.toContain(botToken)
        expect(raw).toContain(encryptedPrefix)
        expect(raw).toContain('select 1')

        expect((await getMonitor(store.db, 'db-main'))?.spec).toEqual({
          ...monitorSpec,
          port: 5432,
        })
        expect((await listChannels(store.db))[0]?.spec).toEqual(channelSpec)
      } finally {
        await cleanup()
      }
    })

    it('fails with the key source named when the store is opened with another key', async () => {
      const { store, location, cleanup } = await kind.create()
      const other = await openStore(location)
      try {
        withSecrets(store, box, secretFieldsOf)
        await upsertChannel(
          store.db,
          { slug: 'ops-tg', type: 'telegram', spec: channelSpec, source: 'api' },
          t0,
        )
        withSecrets(other, secretBoxFrom(randomBytes(32), 'KEEL_SECRET_KEY'), secretFieldsOf)
        await expect(listChannels(other.db)).rejects.toThrow(
          /does not decrypt with the key from KEEL_SECRET_KEY/,
        )
      } finally {
        await other.close()
        await cleanup()
      }
    })

    it('seals secrets written in clear before encryption was on', async () => {
      const { store, cleanup } = await kind.create()
      try {
        await upsertChannel(
          store.db,
          { slug: 'ops-tg', type: 'telegram', spec: channelSpec, source: 'api' },
          t0,
        )
        expect(await rawRows(store)).toContain(botToken)
        withSecrets(store, box, secretFieldsOf)
        expect(await sealStoredSecrets(store.db)).toBe(1)
        expect(await sealStoredSecrets(store.db)).toBe(0)
        expect(await rawRows(store)).not.toContain(botToken)
        expect((await listChannels(store.db))[0]?.spec).toEqual(channelSpec)
      } finally {
        await cleanup()
      }
    })
  })
}

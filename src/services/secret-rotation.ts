import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ConflictError, InputError } from '../core/errors.js'
import type { Store } from '../store/dialect.js'
import { resealStoredSecrets, secretBoxFrom, type SecretFieldsOf } from '../store/secrets.js'
import {
  keyFromText,
  minimumSecretKeyBytes,
  resolveSecretKey,
  writeSecretKeyFile,
} from './ack-links.js'

/** Suffix of the key file an interrupted rotation left behind; it is tried when opening. */
export const newKeySuffix = '.new'
/** Suffix of the key a rotation replaced; it still opens backups taken before the rotation. */
export const previousKeySuffix = '.previous'

type Env = Record<string, string | undefined>

function keyFromEnv(env: Env, name: string): Uint8Array | undefined {
  const text = env[name]
  if (text === undefined || text === '') return undefined
  if (Buffer.byteLength(text, 'utf8') < minimumSecretKeyBytes) {
    throw new InputError(
      `${name} must be at least ${minimumSecretKeyBytes} characters of random text; generate one with: openssl rand -base64 32`,
    )
  }
  return Buffer.from(text, 'utf8')
}

async function keyFromFile(path: string): Promise<Uint8Array | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined
    throw error
  }
  return keyFromText(text, `secret key file ${path}`)
}

/**
 * Root keys that may still open stored secrets besides the current one: `KEEL_SECRET_KEY_PREVIOUS`,
 * `keel.key.previous` (what a rotation replaced) and `keel.key.new` (a rotation that stopped
 * between committing and swapping the files).
 */
export async function previousSecretKeys(options: {
  env: Env
  keyPath: string
}): Promise<Uint8Array[]> {
  const keys = [
    keyFromEnv(options.env, 'KEEL_SECRET_KEY_PREVIOUS'),
    await keyFromFile(options.keyPath + newKeySuffix),
    await keyFromFile(options.keyPath + previousKeySuffix),
  ]
  return keys.filter((key): key is Uint8Array => key !== undefined)
}

/** A node that still holds monitor leases, so it runs with the key being replaced. */
export interface LeaseHolder {
  owner: string
  until: number
}

/** Nodes holding monitor leases at `now`: running (or crashed within a lease) Keel nodes. */
export async function liveLeaseHolders(store: Store, now: number): Promise<LeaseHolder[]> {
  const rows = await store.db
    .selectFrom('monitors')
    .select(['lease_owner', (eb) => eb.fn.max('lease_until').as('until')])
    .where('lease_owner', 'is not', null)
    .where('lease_until', '>', now)
    .groupBy('lease_owner')
    .execute()
  return rows.map((row) => ({ owner: String(row.lease_owner), until: Number(row.until) }))
}

/** What `keel secrets rotate` did. */
export interface RotationReport {
  /** Monitors and channels whose secrets were sealed anew. */
  rows: number
  source: 'env' | 'file'
  /** The key file now in use and the one that keeps the old key (file mode). */
  keyPath?: string
  previousKeyPath?: string
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/**
 * Replaces the root secret key and seals every stored secret with the key derived from the new
 * one, in one transaction. With the key file (the default), the new key is written to
 * `keel.key.new` before the transaction and swapped in after it, the old one kept as
 * `keel.key.previous`; a rotation that stops half-way is finished by running it again. With
 * `KEEL_SECRET_KEY`, the new key comes from `KEEL_NEW_SECRET_KEY` and the operator sets it on
 * every node. Refused while a node holds monitor leases, since a running node keeps the old key
 * in memory and could not open what was sealed anew; `force` skips that check.
 */
export async function rotateSecretKey(options: {
  store: Store
  keyPath: string
  env: Env
  now: number
  fieldsOf: SecretFieldsOf
  force?: boolean
}): Promise<RotationReport> {
  const { store, keyPath, env } = options
  if (!options.force) {
    const holders = await liveLeaseHolders(store, options.now)
    if (holders.length > 0) {
      const list = holders
        .map((h) => `${h.owner} (until ${new Date(h.until).toISOString()})`)
        .join(', ')
      throw new ConflictError(
        `Keel is running: ${list} holds monitor leases. Stop every Keel node first (a crashed node's leases expire on their own), or pass --force if those nodes are gone`,
      )
    }
  }
  const current = await resolveSecretKey({ env, keyPath })
  const previous = await previousSecretKeys({ env, keyPath })
  const source = current.source === 'env' ? 'KEEL_SECRET_KEY' : `secret key file ${keyPath}`
  const from = secretBoxFrom(current.key, source, previous)

  let next: Uint8Array
  if (current.source === 'env') {
    const given = keyFromEnv(env, 'KEEL_NEW_SECRET_KEY')
    if (!given) {
      throw new InputError(
        'KEEL_SECRET_KEY is set, so the new key must come from the environment too: set KEEL_NEW_SECRET_KEY to a new random value (openssl rand -base64 32) and run keel secrets rotate again',
      )
    }
    next = given
  } else {
    // A key file left by an interrupted rotation may already seal some rows: finish with it.
    const left = await keyFromFile(keyPath + newKeySuffix)
    next = left ?? randomBytes(32)
    if (!left) await writeSecretKeyFile(keyPath + newKeySuffix, next)
  }
  if (Buffer.compare(Buffer.from(next), Buffer.from(current.key)) === 0) {
    throw new InputError('the new secret key is the current one; choose a new random value')
  }
  const to = secretBoxFrom(next, 'the new key')
  const rows = await store.db
    .transaction()
    .execute((trx) => resealStoredSecrets(trx, from, to, options.fieldsOf))

  if (current.source === 'env') return { rows, source: 'env' }
  // The rows are sealed with the new key: keep the old one aside, then move the new one in with
  // one atomic rename, so there is a readable keel.key at every moment.
  await unlink(keyPath + previousKeySuffix).catch(() => undefined)
  await writeSecretKeyFile(keyPath + previousKeySuffix, current.key)
  await rename(keyPath + newKeySuffix, keyPath)
  await syncDirectory(keyPath)
  return { rows, source: 'file', keyPath, previousKeyPath: keyPath + previousKeySuffix }
}

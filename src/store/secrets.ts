import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import type { Executor, Store } from './dialect.js'

/** The prefix of an encrypted value: version 1 is AES-256-GCM, a 12-byte nonce and a 16-byte tag. */
export const encryptedPrefix = 'enc:v1:'

// HKDF label: the at-rest key is derived from the same root key as ack-link signatures, under its
// own label, so neither use can stand in for the other.
const hkdfInfo = 'keel:secrets-at-rest:v1'
// The associated data binds a ciphertext to this scheme and version.
const associatedData = Buffer.from('keel:enc:v1')

/** The key that seals secrets at rest, and where it came from (named in every error). */
export interface SecretBox {
  key: Buffer
  /** `KEEL_SECRET_KEY` or `secret key file <path>`: what to check when decryption fails. */
  source: string
  /**
   * Earlier at-rest keys (`KEEL_SECRET_KEY_PREVIOUS`, `keel.key.previous`) that still open what
   * they sealed, for backups taken before `keel secrets rotate`; nothing is sealed with them.
   */
  previous?: readonly Buffer[]
}

/** Which fields of a monitor or channel type hold secrets (`password`, `basicAuth.password`). */
export type SecretFieldsOf = (section: 'monitors' | 'channels', type: string) => readonly string[]

/** A stored secret that does not open with the configured key. */
export class SecretDecryptionError extends Error {
  constructor(readonly source: string) {
    super(
      `a stored secret does not decrypt with the key from ${source}: the key was changed or belongs to another installation; restore the original key (KEEL_SECRET_KEY or keel.key beside the database)`,
    )
  }
}

/** Derives the at-rest key from Keel's root secret key with HKDF-SHA256. */
export function secretBoxFrom(
  rootKey: Uint8Array,
  source: string,
  previousRootKeys: readonly Uint8Array[] = [],
): SecretBox {
  const derive = (root: Uint8Array) =>
    Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), hkdfInfo, 32))
  const previous = previousRootKeys.map(derive)
  return { key: derive(rootKey), source, ...(previous.length > 0 ? { previous } : {}) }
}

/** Encrypts one JSON value as `enc:v1:<base64 nonce|ciphertext|tag>`. */
export function encryptValue(box: SecretBox, value: unknown): string {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', box.key, nonce)
  cipher.setAAD(associatedData)
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return `${encryptedPrefix}${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64')}`
}

/**
 * Decrypts a value made by `encryptValue` with the box's key, else with one of its previous
 * keys; throws SecretDecryptionError when none opens it.
 */
export function decryptValue(box: SecretBox, text: string): unknown {
  const raw = Buffer.from(text.slice(encryptedPrefix.length), 'base64')
  if (raw.length < 28) throw new SecretDecryptionError(box.source)
  for (const key of [box.key, ...(box.previous ?? [])]) {
    const plain = openWith(key, raw)
    if (plain !== undefined) return JSON.parse(plain) as unknown
  }
  throw new SecretDecryptionError(box.source)
}

function openWith(key: Buffer, raw: Buffer): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    decipher.setAAD(associatedData)
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether a value is an `enc:v1:` envelope. */
export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(encryptedPrefix)
}

/** A copy of `spec` with each secret field (a dotted path) replaced by its envelope. */
export function sealFields(
  box: SecretBox,
  spec: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  const copy = structuredClone(spec)
  for (const field of fields) {
    const keys = field.split('.')
    let holder: unknown = copy
    for (const key of keys.slice(0, -1)) holder = isRecord(holder) ? holder[key] : undefined
    const last = keys[keys.length - 1] as string
    if (!isRecord(holder)) continue
    const value = holder[last]
    if (value === undefined || isEncrypted(value)) continue
    holder[last] = encryptValue(box, value)
  }
  return copy
}

/** A copy of any JSON value with every envelope inside it decrypted. */
export function openFields<T>(box: SecretBox, value: T): T {
  if (isEncrypted(value)) return decryptValue(box, value) as T
  if (Array.isArray(value)) return value.map((item) => openFields(box, item) as unknown) as T
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, openFields(box, item)]),
    ) as T
  }
  return value
}

/** Whether any secret field of `spec` is stored in clear. */
export function hasPlaintextSecrets(spec: Record<string, unknown>, fields: readonly string[]) {
  return fields.some((field) => {
    let value: unknown = spec
    for (const key of field.split('.')) value = isRecord(value) ? value[key] : undefined
    return value !== undefined && !isEncrypted(value)
  })
}

/**
 * A Kysely plugin that carries the key with the handle (transactions included) and opens the
 * envelopes in every `spec` column a query returns, so callers only ever see secrets in clear.
 */
export class SecretsPlugin implements KyselyPlugin {
  constructor(
    readonly box: SecretBox,
    readonly fieldsOf: SecretFieldsOf,
  ) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const rows = args.result.rows
    if (!rows.some((row) => typeof row.spec === 'string' && row.spec.includes(encryptedPrefix))) {
      return args.result
    }
    return {
      ...args.result,
      rows: rows.map((row) =>
        typeof row.spec === 'string' && row.spec.includes(encryptedPrefix)
          ? { ...row, spec: JSON.stringify(openFields(this.box, JSON.parse(row.spec) as unknown)) }
          : row,
      ),
    }
  }
}

function pluginOf(db: Executor): SecretsPlugin | undefined {
  return db.getExecutor().plugins.find((p): p is SecretsPlugin => p instanceof SecretsPlugin)
}

/** The key the handle carries (`withSecrets`), for values sealed outside a `spec` column. */
export function secretBoxOf(db: Executor): SecretBox | undefined {
  return pluginOf(db)?.box
}

/**
 * The spec to write for a monitor or channel: its secret fields sealed when the handle carries a
 * key (`withSecrets`), unchanged otherwise (tests and tools that never store real secrets).
 */
export function sealSpec(
  db: Executor,
  section: 'monitors' | 'channels',
  type: string,
  spec: Record<string, unknown>,
): Record<string, unknown> {
  const plugin = pluginOf(db)
  return plugin ? sealFields(plugin.box, spec, plugin.fieldsOf(section, type)) : spec
}

/** Makes `store.db` seal secrets on write and open them on read. */
export function withSecrets(store: Store, box: SecretBox, fieldsOf: SecretFieldsOf): Store {
  store.db = store.db.withPlugin(new SecretsPlugin(box, fieldsOf))
  return store
}

/**
 * Seals secrets still stored in clear (rows written before encryption at rest, or by a tool
 * without the key); returns how many rows changed. Runs at start-up, where the key is known.
 */
export async function sealStoredSecrets(db: Executor): Promise<number> {
  const plugin = pluginOf(db)
  if (!plugin) return 0
  let changed = 0
  for (const table of ['monitors', 'channels'] as const) {
    // Read without the plugin: the raw text tells which rows are still in clear.
    const rows = await db
      .withoutPlugins()
      .selectFrom(table)
      .select(['slug', 'type', 'spec'])
      .execute()
    for (const row of rows) {
      const spec = JSON.parse(row.spec) as Record<string, unknown>
      const fields = plugin.fieldsOf(table, row.type)
      if (!hasPlaintextSecrets(spec, fields)) continue
      await db
        .updateTable(table)
        .set({ spec: JSON.stringify(sealFields(plugin.box, spec, fields)) })
        .where('slug', '=', row.slug)
        .execute()
      changed++
    }
  }
  return changed
}

/**
 * Re-seals every secret of every monitor and channel with `to`, opening each with `from` (its
 * key or a previous one); returns how many rows changed. Runs in the caller's transaction, so a
 * rotation changes every row or none. `db` must be a handle without the secrets plugin.
 */
export async function resealStoredSecrets(
  db: Executor,
  from: SecretBox,
  to: SecretBox,
  fieldsOf: SecretFieldsOf,
): Promise<number> {
  let changed = 0
  for (const table of ['monitors', 'channels'] as const) {
    const rows = await db.selectFrom(table).select(['slug', 'type', 'spec']).execute()
    for (const row of rows) {
      const spec = JSON.parse(row.spec) as Record<string, unknown>
      const fields = fieldsOf(table, row.type)
      if (!row.spec.includes(encryptedPrefix) && !hasPlaintextSecrets(spec, fields)) continue
      const resealed = sealFields(to, openFields(from, spec), fields)
      await db
        .updateTable(table)
        .set({ spec: JSON.stringify(resealed) })
        .where('slug', '=', row.slug)
        .execute()
      changed++
    }
  }
  // Secret runbook parameters are sealed value by value in the run's `params`.
  const runs = await db
    .selectFrom('runbook_runs')
    .select(['id', 'params'])
    .where('params', 'like', `%${encryptedPrefix}%`)
    .execute()
  for (const run of runs) {
    const params = JSON.parse(run.params) as Record<string, unknown>
    const resealed = Object.fromEntries(
      Object.entries(params).map(([name, value]) => [
        name,
        isEncrypted(value) ? encryptValue(to, decryptValue(from, value)) : value,
      ]),
    )
    await db
      .updateTable('runbook_runs')
      .set({ params: JSON.stringify(resealed) })
      .where('id', '=', run.id)
      .execute()
    changed++
  }
  return changed
}

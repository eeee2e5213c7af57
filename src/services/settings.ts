import type { Executor } from '../store/dialect.js'
import { getMeta, setMeta } from '../store/meta.js'

/** Settings that come from the applied keel.yaml and every node must see. */
export interface SharedSettings {
  /** Channels a monitor notifies when it names none. */
  defaultChannels: string[]
}

const key = 'config:settings'

/** Reads the shared settings last written by `keel apply` (empty defaults before any apply). */
export async function readSharedSettings(db: Executor): Promise<SharedSettings> {
  const text = await getMeta(db, key)
  const parsed = text ? (JSON.parse(text) as Partial<SharedSettings>) : {}
  return { defaultChannels: parsed.defaultChannels ?? [] }
}

/** Writes the shared settings (inside the apply transaction). */
export async function writeSharedSettings(db: Executor, settings: SharedSettings): Promise<void> {
  await setMeta(db, key, JSON.stringify(settings))
}

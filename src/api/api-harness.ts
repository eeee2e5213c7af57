import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { freshLocation, storeKinds, type StoreKind } from '../../test/helpers/stores.js'
import { createApiToken, roles } from '../services/auth.js'
import { openStore, type Store } from '../store/dialect.js'
import type { Role } from '../store/auth.js'
import { createMetrics, type KeelMetrics } from './metrics.js'
import { buildApi, type ApiDeps } from './server.js'

/** A settable clock for API tests. */
export interface TestClock {
  now(): number
  set(ms: number): void
  advance(ms: number): void
}

/** An API over a fresh store, with one token per role; tests only. */
export interface ApiHarness {
  app: FastifyInstance
  store: Store
  clock: TestClock
  metrics: KeelMetrics
  tokens: Record<Role, string>
  /** Every `onChange` call, in order. */
  changes: string[]
  /** `Authorization` headers for a role. */
  as(role: Role): { authorization: string }
  /** Closes the store under the running API, to see how it fails. */
  breakStore(): Promise<void>
  close(): Promise<void>
}

/** A clock at a fixed instant that moves only when told to. */
export function testClock(start = Date.UTC(2024, 4, 1, 12)): TestClock {
  let t = start
  return {
    now: () => t,
    set: (ms) => void (t = ms),
    advance: (ms) => void (t += ms),
  }
}

/** Builds the real API over a fresh store of `kind` with real tokens for every role. */
export async function startApiHarness(
  kind: StoreKind,
  options: {
    log?: Logger
    bodyLimitBytes?: number
    /** Runbook folders, for the runbook routes (without them no runbook exists). */
    runbooks?: ApiDeps['runbooks']
    /** Signs one-click links and feed tokens (without it those routes answer 404). */
    secretKey?: Uint8Array
    /** keel.yaml `checks.commandDirs` (without it the API refuses every command monitor). */
    commands?: ApiDeps['commands']
  } = {},
): Promise<ApiHarness> {
  const { location, drop } = await freshLocation(kind.name)
  const store = await openStore(location)
  let closed = false
  const clock = testClock()
  const metrics = createMetrics()
  metrics.attachStore(store.db)
  const changes: string[] = []
  const deps: ApiDeps = {
    db: store.db,
    clock,
    log: options.log ?? pino({ level: 'silent' }),
    metrics,
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.runbooks ? { runbooks: options.runbooks } : {}),
    ...(options.secretKey ? { secretKey: options.secretKey } : {}),
    ...(options.commands ? { commands: options.commands } : {}),
    onChange: (what) => changes.push(what),
  }
  const app = await buildApi(deps)
  const tokens = {} as Record<Role, string>
  for (const role of roles) {
    tokens[role] = (
      await createApiToken({ db: store.db, clock }, { name: `test-${role}`, role })
    ).token
  }
  return {
    app,
    store,
    clock,
    metrics,
    tokens,
    changes,
    as: (role) => ({ authorization: `Bearer ${tokens[role]}` }),
    async breakStore() {
      closed = true
      await store.close()
    },
    async close() {
      await app.close()
      if (!closed) await store.close()
      await drop()
    },
  }
}

/** The store kinds as `describe.each` rows, with PostgreSQL skipped when it is not configured. */
export const apiStoreKinds = storeKinds.map((kind) => ({ kind, name: kind.name }))

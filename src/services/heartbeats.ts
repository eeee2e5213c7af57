import { heartbeatDeadline } from '../checks/heartbeat.js'
import { parseMonitorSpec, type MonitorSpec } from '../checks/registry.js'
import type { CheckOutcome } from '../core/checks/index.js'
import { NotFoundError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { applyOutcomes, type RecordedTransition } from '../engine/recorder.js'
import { recordedMonitor } from '../engine/scheduler.js'
import type { Db } from '../store/dialect.js'
import { getMonitorByPingToken, setLastPing } from '../store/monitors.js'
import { insertPing, listPings, type HeartbeatPing } from '../store/results.js'
import { readSharedSettings } from './settings.js'

/** Bodies longer than this are cut (Healthchecks.io keeps 10 kB too). */
export const maxPingBodyBytes = 10_000

/** A ping as received on `/ping/<token>[/start|/fail|/<exit>]`. */
export interface PingInput {
  kind: HeartbeatPing['kind']
  exitStatus?: number
  body?: string
  source?: string
}

/** What a ping did. */
export interface PingResult {
  monitor: string
  state: string
  transitions: RecordedTransition[]
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n', 1)[0]?.trim().slice(0, 200) ?? ''
}

function outcomeForPing(ping: PingInput, latencyMs: number): CheckOutcome | undefined {
  if (ping.kind === 'start') return undefined
  const failed = ping.kind === 'fail' || (ping.kind === 'exit' && ping.exitStatus !== 0)
  const detail = firstLine(ping.body)
  if (!failed) {
    return {
      status: 'up',
      latencyMs,
      message: detail ? `ping received: ${detail}` : 'ping received',
    }
  }
  const why =
    ping.kind === 'exit' ? `job exited with status ${ping.exitStatus}` : 'job reported failure'
  return { status: 'down', latencyMs, message: detail ? `${why}: ${detail}` : why }
}

/**
 * Records a heartbeat ping durably (the caller answers 2xx only after this returns) and applies
 * it to the monitor's state in the same transaction: success and exit 0 are up, fail and a
 * non-zero exit are down, start only marks the beginning of a run (its duration becomes the
 * latency of the ping that ends it).
 */
export async function recordHeartbeatPing(
  deps: { db: Db; clock: Clock; publicUrl?: string; secretKey?: Uint8Array; ackLinkTtlMs?: number },
  token: string,
  input: PingInput,
): Promise<PingResult> {
  const now = deps.clock.now()
  const body = input.body === undefined ? undefined : truncateUtf8(input.body, maxPingBodyBytes)
  return deps.db.transaction().execute(async (trx) => {
    const row = await getMonitorByPingToken(trx, token)
    if (!row || row.type !== 'heartbeat') {
      throw new NotFoundError('no heartbeat monitor has this ping URL; check the token in the URL')
    }
    const previous = (await listPings(trx, row.id, 1))[0]
    await insertPing(trx, {
      monitorId: row.id,
      receivedAt: now,
      kind: input.kind,
      ...(input.exitStatus !== undefined ? { exitStatus: input.exitStatus } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(input.source ? { source: input.source } : {}),
    })
    const latency = previous?.kind === 'start' ? now - previous.receivedAt : 0
    const outcome = outcomeForPing(input, latency)
    if (!outcome || row.paused)
      return { monitor: row.slug, state: row.runtime.state, transitions: [] }
    await setLastPing(trx, row.id, now)
    const parsed = parseMonitorSpec(row.spec)
    if (!parsed.ok) return { monitor: row.slug, state: row.runtime.state, transitions: [] }
    const spec = parsed.spec as Extract<MonitorSpec, { type: 'heartbeat' }>
    const settings = await readSharedSettings(trx)
    const transitions = await applyOutcomes(
      trx,
      [
        {
          monitor: recordedMonitor(row, spec),
          outcome,
          checkedAt: now,
          nextDueAt: heartbeatDeadline(spec, now, row.createdAt),
        },
      ],
      {
        defaultChannels: settings.defaultChannels,
        now,
        ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
        ...(deps.publicUrl && deps.secretKey
          ? {
              links: {
                publicUrl: deps.publicUrl,
                key: deps.secretKey,
                ...(deps.ackLinkTtlMs !== undefined ? { ttlMs: deps.ackLinkTtlMs } : {}),
              },
            }
          : {}),
      },
    )
    const state = transitions.at(-1)?.transition.to ?? row.runtime.state
    return {
      monitor: row.slug,
      state: state === 'pending' && outcome.status === 'up' ? 'up' : state,
      transitions,
    }
  })
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let end = maxBytes
  // Step back over UTF-8 continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

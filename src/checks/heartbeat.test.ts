import { describe, expect, it } from 'vitest'
import { heartbeatConfigSchema, heartbeatDeadline, heartbeatProbe } from './heartbeat.js'

const at = (iso: string) => Date.parse(iso)

function timing(input: Record<string, unknown>) {
  return heartbeatConfigSchema.parse(input)
}

describe('heartbeatDeadline', () => {
  it.each<[string, Record<string, unknown>, string | undefined, string, string]>([
    [
      'a period counts from the last ping',
      { period: '1h' },
      '2025-03-01T10:15:00Z',
      '2025-01-01T00:00:00Z',
      '2025-03-01T11:16:00Z',
    ],
    [
      'a period counts from creation before the first ping',
      { period: '1h', grace: '5m' },
      undefined,
      '2025-03-01T10:00:00Z',
      '2025-03-01T11:05:00Z',
    ],
    [
      'a daily schedule waits for the next run after the ping',
      { schedule: '0 2 * * *' },
      '2025-03-01T02:00:07Z',
      '2025-01-01T00:00:00Z',
      '2025-03-02T02:01:00Z',
    ],
    [
      'a schedule counts from creation before the first ping',
      { schedule: '0 2 * * *', grace: '30m' },
      undefined,
      '2025-03-01T12:00:00Z',
      '2025-03-02T02:30:00Z',
    ],
    [
      'a ping before the run leaves that run due',
      { schedule: '0 2 * * *' },
      '2025-03-01T01:59:00Z',
      '2025-01-01T00:00:00Z',
      '2025-03-01T02:01:00Z',
    ],
    [
      'a schedule in Berlin winter time',
      { schedule: '0 2 * * *', timezone: 'Europe/Berlin', grace: 0 },
      '2025-01-10T12:00:00Z',
      '2025-01-01T00:00:00Z',
      '2025-01-11T01:00:00Z',
    ],
    [
      'a schedule in Berlin summer time',
      { schedule: '0 2 * * *', timezone: 'Europe/Berlin', grace: 0 },
      '2025-07-10T12:00:00Z',
      '2025-01-01T00:00:00Z',
      '2025-07-11T00:00:00Z',
    ],
    [
      'a weekday schedule skips the weekend',
      { schedule: '0 9 * * 1-5', grace: '1h' },
      '2025-03-07T09:00:30Z',
      '2025-01-01T00:00:00Z',
      '2025-03-10T10:00:00Z',
    ],
  ])('%s', (_name, input, lastPing, created, expected) => {
    const deadline = heartbeatDeadline(
      timing(input),
      lastPing === undefined ? undefined : at(lastPing),
      at(created),
    )
    expect(new Date(deadline).toISOString()).toBe(new Date(at(expected)).toISOString())
  })
})

describe('heartbeatProbe', () => {
  const context = { signal: new AbortController().signal, timeoutMs: 1_000, conditions: [] }

  it.each([
    [
      'a period and a last ping',
      { period: '1h' },
      at('2025-03-01T10:15:00Z'),
      'no ping since 2025-03-01T10:15:00Z (expected every 1h, grace 1m)',
    ],
    [
      'a schedule and no ping yet',
      { schedule: '0 2 * * *', timezone: 'Europe/Berlin', grace: '10m' },
      undefined,
      'no ping received yet (expected at "0 2 * * *" Europe/Berlin, grace 10m)',
    ],
  ])('reports the silence for %s', async (_name, input, lastPingAt, message) => {
    const outcome = await heartbeatProbe.run(timing(input), {
      ...context,
      ...(lastPingAt ? { lastPingAt } : {}),
    })
    expect(outcome).toEqual({ status: 'down', latencyMs: 0, message })
  })

  it.each([
    ['neither period nor schedule', {}, 'set period (like 1h) or schedule (a cron expression)'],
    [
      'both period and schedule',
      { period: '1h', schedule: '0 * * * *' },
      'set period or schedule, not both',
    ],
  ])('rejects %s', (_name, input, message) => {
    expect(heartbeatProbe.validate?.(timing(input)).map((issue) => issue.message)).toEqual([
      message,
    ])
  })

  it.each([
    [
      'a malformed cron expression',
      { schedule: 'every day' },
      'schedule must be a cron expression',
    ],
    [
      'an unknown time zone',
      { schedule: '0 2 * * *', timezone: 'Mars/Olympus' },
      'timezone must be an IANA zone',
    ],
    ['a grace that is not a duration', { period: '1h', grace: 'soon' }, 'grace must be a duration'],
  ])('rejects %s in the schema', (_name, input, message) => {
    const result = heartbeatConfigSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toContain(message)
  })
})

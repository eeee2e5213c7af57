import { z } from 'zod'
import type { CheckOutcome } from '../core/checks/index.js'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError } from './network-error.js'
import { connectTcp, outboundGuard } from './outbound-guard.js'
import { defineProbe } from './probe.js'
import { probeDeadline } from './probe-deadline.js'

const maxReceiveBytes = 64 * 1024

/** A host name or IP address, without anything a shell or URL parser could misread. */
export const hostField = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.:%-]+$/, 'host must be a host name or an IP address')
  .refine((host) => !host.startsWith('-'), 'host must not start with "-"')

/** A TCP or UDP port number. */
export const portField = z.number().int().min(1).max(65_535)

/** The fields of a `tcp` monitor. */
export const tcpConfigSchema = z.object({
  host: hostField,
  port: portField,
  /** Sent once connected (`PING\r\n`). */
  send: z.string().optional(),
  /** Text that must arrive before the timeout (`+PONG`); without it, connecting is enough. */
  expect: z.string().min(1).optional(),
})

function preview(text: string): string {
  const flat = JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)
  return text === '' ? 'nothing' : flat
}

/** Opens a TCP connection, optionally sends a line and waits for an expected reply. */
export const tcpProbe = defineProbe({
  type: 'tcp',
  description: 'TCP connect, optionally send a string and expect a reply',
  configSchema: tcpConfigSchema,
  secretFields: ['send'],
  placeholders: ['[CONNECTED]', '[RESPONSE_TIME]', '[IP]', '[BODY]'],
  expectations: (config) => [
    { text: 'port accepts connections', otherwise: 'down' },
    ...(config.expect !== undefined
      ? [{ text: `reply contains ${JSON.stringify(config.expect)}`, otherwise: 'down' as const }]
      : []),
  ],
  target: (config) => `tcp://${config.host}:${config.port}`,
  run(config, context) {
    const deadline = probeDeadline(context)
    const target = `${config.host}:${config.port}`
    const wantsReply =
      config.expect !== undefined || context.conditions.some((text) => text.includes('[BODY]'))
    return new Promise<CheckOutcome>((resolve) => {
      const socket = connectTcp({ host: config.host, port: config.port }, outboundGuard('monitors'))
      let connected = false
      let ip: string | undefined
      let received = ''
      let settled = false
      const finish = (outcome: CheckOutcome) => {
        if (settled) return
        settled = true
        deadline.signal.removeEventListener('abort', onAbort)
        socket.destroy()
        resolve(outcome)
      }
      const judge = (note?: string) => {
        const latencyMs = deadline.elapsedMs()
        const problems: string[] = []
        if (config.expect !== undefined && !received.includes(config.expect)) {
          problems.push(
            `expected ${JSON.stringify(config.expect)} but received ${preview(received)}${note ? ` (${note})` : ''}`,
          )
        }
        finish(
          concludeCheck({
            context,
            observed: {
              connected: true,
              responseTimeMs: latencyMs,
              ...(ip !== undefined ? { ip } : {}),
              ...(wantsReply ? { body: received } : {}),
            },
            latencyMs,
            summary: `connected to ${target}`,
            problems,
          }),
        )
      }
      const fail = (failure: string) => {
        const latencyMs = deadline.elapsedMs()
        finish(
          concludeCheck({
            context,
            observed: { connected: false, responseTimeMs: latencyMs },
            latencyMs,
            summary: failure,
            failure,
          }),
        )
      }
      function onAbort() {
        if (connected) judge(deadline.abortMessage())
        else fail(`${deadline.abortMessage()} connecting to ${target}`)
      }
      if (deadline.signal.aborted) return onAbort()
      deadline.signal.addEventListener('abort', onAbort, { once: true })
      socket.setEncoding('utf8')
      socket.once('connect', () => {
        connected = true
        ip = socket.remoteAddress
        if (config.send !== undefined) socket.write(config.send)
        if (!wantsReply) judge()
      })
      socket.on('data', (chunk: string) => {
        received = (received + chunk).slice(0, maxReceiveBytes)
        const done =
          config.expect === undefined ||
          received.includes(config.expect) ||
          received.length >= maxReceiveBytes
        if (done) judge()
      })
      socket.once('end', () => judge('the server closed the connection'))
      socket.once('close', () => {
        if (connected) judge('the connection closed')
        else fail(`connection to ${target} closed before it was established`)
      })
      socket.on('error', (error) => {
        if (connected) judge(describeNetworkError(error, target))
        else fail(describeNetworkError(error, target))
      })
    })
  },
})

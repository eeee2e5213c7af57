import { isIP } from 'node:net'
import { connect, type PeerCertificate } from 'node:tls'
import { z } from 'zod'
import { durationField, type CheckOutcome } from '../core/checks/index.js'
import { formatDuration } from '../core/time.js'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError } from './network-error.js'
import { connectTcp, outboundGuard } from './outbound-guard.js'
import { defineProbe } from './probe.js'
import { probeDeadline } from './probe-deadline.js'
import { roughDuration } from './rough-duration.js'
import { hostField, portField } from './tcp.js'

const day = 86_400_000

/** The fields of a `tls` monitor. */
export const tlsConfigSchema = z.object({
  host: hostField,
  port: portField.default(443),
  /** The SNI name and the name the certificate must match; `host` unless that is an IP. */
  servername: z.string().min(1).optional(),
  /** Less time than this before expiry makes the monitor degraded. */
  warnBefore: durationField('warnBefore').default(14 * day),
  /** Less time than this before expiry makes the monitor down. */
  criticalBefore: durationField('criticalBefore').default(3 * day),
  /** Off: check expiry of certificates that are self-signed or issued for another name. */
  tlsVerify: z.boolean().default(true),
})

function subjectOf(certificate: PeerCertificate): string {
  const subject = certificate.subject as Partial<Record<string, string | string[]>> | undefined
  const cn = subject?.CN
  if (cn) return `CN=${Array.isArray(cn) ? cn.join(',') : cn}`
  const altName = certificate.subjectaltname?.split(',')[0]?.trim()
  return altName ?? 'an unnamed subject'
}

function formatInstant(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/:\d\d\.\d{3}Z$/, 'Z')
    .replace('T', ' ')
}

/** Connects with TLS and judges the peer certificate's remaining validity. */
export const tlsProbe = defineProbe({
  type: 'tls',
  description: 'TLS certificate: trust and days until expiry',
  configSchema: tlsConfigSchema,
  secretFields: [],
  placeholders: ['[CERTIFICATE_EXPIRATION]', '[CONNECTED]', '[RESPONSE_TIME]', '[IP]'],
  expectations: (config) => [
    ...(config.tlsVerify
      ? [{ text: 'certificate is trusted and valid now', otherwise: 'down' as const }]
      : [{ text: 'certificate is valid now (trust not verified)', otherwise: 'down' as const }]),
    {
      text: `certificate expires in more than ${formatDuration(config.criticalBefore)}`,
      otherwise: 'down',
    },
    {
      text: `certificate expires in more than ${formatDuration(config.warnBefore)}`,
      otherwise: 'degraded',
    },
  ],
  validate(config) {
    if (config.criticalBefore > config.warnBefore) {
      return [
        {
          path: ['criticalBefore'],
          message: `criticalBefore (${formatDuration(config.criticalBefore)}) must not exceed warnBefore (${formatDuration(config.warnBefore)})`,
        },
      ]
    }
    return []
  },
  target: (config) => `tls://${config.host}:${config.port}`,
  run(config, context) {
    const deadline = probeDeadline(context)
    const target = `${config.host}:${config.port}`
    const servername = config.servername ?? (isIP(config.host) === 0 ? config.host : undefined)
    return new Promise<CheckOutcome>((resolve) => {
      let settled = false
      const guard = outboundGuard('monitors')
      const socket = connect({
        // Through the guard, TLS runs over a socket that was checked before and once connected.
        ...(guard
          ? { socket: connectTcp({ host: config.host, port: config.port }, guard) }
          : { host: config.host, port: config.port }),
        ...(servername ? { servername } : {}),
        rejectUnauthorized: config.tlsVerify,
      })
      const finish = (outcome: CheckOutcome) => {
        if (settled) return
        settled = true
        deadline.signal.removeEventListener('abort', onAbort)
        socket.destroy()
        resolve(outcome)
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
        fail(`${deadline.abortMessage()} during the TLS handshake with ${target}`)
      }
      if (deadline.signal.aborted) return onAbort()
      deadline.signal.addEventListener('abort', onAbort, { once: true })
      socket.once('secureConnect', () => {
        const latencyMs = deadline.elapsedMs()
        const certificate = socket.getPeerCertificate()
        const validTo = Date.parse(certificate.valid_to)
        const validFrom = Date.parse(certificate.valid_from)
        if (!certificate.valid_to || Number.isNaN(validTo)) {
          return fail(`${target} presented no certificate`)
        }
        const now = Date.now()
        const remaining = validTo - now
        const subject = subjectOf(certificate)
        const problems: string[] = []
        let degraded: string | undefined
        let summary: string
        if (remaining <= 0) {
          summary = `certificate ${subject} expired on ${formatInstant(validTo)} (${roughDuration(-remaining)} ago)`
          problems.push('renew it')
        } else {
          summary = `certificate ${subject} expires on ${formatInstant(validTo)} (in ${roughDuration(remaining)})`
          if (remaining < config.criticalBefore) {
            problems.push(`less than criticalBefore ${formatDuration(config.criticalBefore)} left`)
          } else if (remaining < config.warnBefore) {
            degraded = `less than warnBefore ${formatDuration(config.warnBefore)} left`
          }
        }
        if (!Number.isNaN(validFrom) && validFrom > now) {
          problems.push(`not valid before ${formatInstant(validFrom)}`)
        }
        finish(
          concludeCheck({
            context,
            observed: {
              connected: true,
              certificateExpirationMs: remaining,
              responseTimeMs: latencyMs,
              ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}),
            },
            latencyMs,
            summary,
            problems,
            ...(degraded ? { degraded } : {}),
            metrics: [
              { label: 'certificate_expiration', value: Math.round(remaining / 1000), unit: 's' },
            ],
          }),
        )
      })
      socket.on('error', (error) => fail(describeNetworkError(error, target)))
      socket.once('close', () => fail(`${target} closed the connection during the TLS handshake`))
    })
  },
})

import MailComposer from 'nodemailer/lib/mail-composer/index.js'
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js'
import type { Socket } from 'node:net'
import { z } from 'zod'
import { connectTcp, outboundGuard, type OutboundGuard } from '../checks/outbound-guard.js'
import { findPrivateTargetError } from '../checks/private-address.js'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type DeliveryOutcome,
  type NotificationMessage,
} from './channel.js'
import { messageLinks } from './channel-text.js'

const addressPattern = /^[^\s<>@]+@[^\s<>@]+$/
const namedAddressPattern = /^[^<>]*<([^\s<>@]+@[^\s<>@]+)>$/

const emailConfigSchema = z.object({
  host: z.string().min(1).describe('The SMTP relay host name.'),
  port: z
    .number()
    .int()
    .min(1)
    .max(65_535)
    .optional()
    .describe('Defaults to 465 when `secure`, else 587 (submission).'),
  secure: z
    .boolean()
    .default(false)
    .describe('Implicit TLS from the first byte (port 465); for STARTTLS see `starttls`.'),
  starttls: z
    .enum(['require', 'opportunistic', 'none'])
    .default('opportunistic')
    .describe('Upgrade a plain connection with STARTTLS: always, when offered, or never.'),
  username: z.string().min(1).optional().describe('Log in as this user.'),
  password: z.string().optional().describe('The password for `username`.'),
  from: z
    .string()
    .trim()
    .refine(
      (value) => addressPattern.test(value) || namedAddressPattern.test(value),
      'from must be an address like keel@example.org or "Keel <keel@example.org>"',
    )
    .describe('The sender, such as "Keel <keel@example.org>".'),
  // The HTML5 pattern allows relay-local addresses such as root@localhost.
  to: z
    .array(z.email({ pattern: z.regexes.html5Email }))
    .min(1, 'to needs at least one address')
    .describe('The recipients.'),
  subjectPrefix: z.string().optional().describe('Put before every subject, such as [prod].'),
  insecureSkipVerify: z
    .boolean()
    .default(false)
    .describe('Accept any server certificate; only for test relays with self-signed certificates.'),
  timeout: timeoutSetting('timeout', '30s').describe('How long one attempt may take.'),
})

/** A composed notification email, before it is put on the wire. */
export interface EmailContent {
  subject: string
  text: string
  html: string
  messageId: string
  references: string
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => htmlEscapes[char] ?? char)
}

/** The domain part of the `from` address, used to make Message-IDs globally unique. */
function fromDomain(from: string): string {
  const address = namedAddressPattern.exec(from)?.[1] ?? from
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase()
  return /^[a-z0-9.-]+$/.test(domain) ? domain : 'keel.invalid'
}

/** Message-ID local parts allow only dot-atom characters (RFC 5322 §3.6.4). */
function idPart(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]/g, (char) =>
    Array.from(Buffer.from(char, 'utf8'), (byte) => `=${byte.toString(16).padStart(2, '0')}`).join(
      '',
    ),
  )
  return safe === '' ? 'empty' : safe
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim()
}

function table(rows: [string, string][]): string {
  const cells = rows
    .map(
      ([name, value]) =>
        `<tr><th align="left" style="padding:2px 12px 2px 0;font-weight:600">${escapeHtml(name)}</th>` +
        `<td style="padding:2px 0;font-family:monospace">${escapeHtml(value)}</td></tr>`,
    )
    .join('')
  return `<table style="border-collapse:collapse">${cells}</table>`
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b))
}

// Inline styles only: mail clients drop <style> blocks and never run scripts or forms.
function actionButton(action: { kind: string; label: string; url: string }): string {
  const background = action.kind === 'acknowledge' ? '#d00000' : '#2eb886'
  return (
    `<a href="${escapeHtml(action.url)}" style="display:inline-block;padding:8px 16px;` +
    `margin:0 8px 8px 0;border-radius:4px;background:${background};color:#ffffff;` +
    `font-weight:600;text-decoration:none">${escapeHtml(action.label)}</a>`
  )
}

/**
 * Renders a notification as an email: `[FIRING] <title>` subject, a text and an HTML part, and
 * a Message-ID derived from the notification id so a resent copy is recognisably the same mail.
 */
export function emailContent(
  message: NotificationMessage,
  options: { from: string; subjectPrefix?: string },
): EmailContent {
  const status = message.status.toUpperCase()
  const prefix = options.subjectPrefix === undefined ? '' : `${oneLine(options.subjectPrefix)} `
  const subject = `${prefix}[${status}] ${oneLine(message.title)}`
  const domain = fromDomain(options.from)
  const labels = sorted(message.labels)
  const annotations = sorted(message.annotations)
  const link =
    message.url !== undefined && /^https?:\/\//i.test(message.url) ? message.url : undefined
  const actions = messageLinks(message, { open: false })
  const footer = `Sent by Keel. Notification ${message.id}, alert fingerprint ${message.fingerprint}.`

  const text = [
    `[${status}] ${message.title}`,
    '',
    message.text,
    '',
    `Severity: ${message.severity}`,
    `At: ${new Date(message.at).toISOString()}`,
    ...(labels.length === 0 ? [] : ['', 'Labels:', ...labels.map(([k, v]) => `  ${k}: ${v}`)]),
    ...(annotations.length === 0
      ? []
      : ['', 'Annotations:', ...annotations.map(([k, v]) => `  ${k}: ${v}`)]),
    ...(actions.length === 0 ? [] : ['', ...actions.map((a) => `${a.label}: ${a.url}`)]),
    ...(link === undefined ? [] : ['', `Open in Keel: ${link}`]),
    '',
    '-- ',
    footer,
    '',
  ].join('\n')

  const color = message.status === 'resolved' ? '#2eb886' : '#d00000'
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px">',
    `<h2 style="color:${color};margin:0 0 8px">[${status}] ${escapeHtml(message.title)}</h2>`,
    `<p style="white-space:pre-wrap">${escapeHtml(message.text)}</p>`,
    table([
      ['severity', message.severity],
      ['at', new Date(message.at).toISOString()],
    ]),
    ...(labels.length === 0 ? [] : ['<h3>Labels</h3>', table(labels)]),
    ...(annotations.length === 0 ? [] : ['<h3>Annotations</h3>', table(annotations)]),
    ...(actions.length === 0 ? [] : [`<p>${actions.map(actionButton).join(' ')}</p>`]),
    ...(link === undefined ? [] : [`<p><a href="${escapeHtml(link)}">Open in Keel</a></p>`]),
    `<p style="color:#808080;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n')

  return {
    subject,
    text,
    html,
    messageId: `<keel.${idPart(message.id)}@${domain}>`,
    // One thread per alert: clients group the firing and the resolved mail together.
    references: `<keel.alert.${idPart(message.fingerprint)}@${domain}>`,
  }
}

/** Maps an SMTP failure to an outcome: 5xx replies fail, 4xx replies and connection errors retry. */
export function outcomeForSmtpError(
  what: string,
  error: unknown,
  state: { cancelled: boolean; timedOut: boolean; timeoutMs: number },
): DeliveryOutcome {
  if (state.cancelled) {
    return {
      kind: 'retry',
      reason: `${what}: the attempt was cancelled before the server answered`,
    }
  }
  if (state.timedOut) {
    return { kind: 'retry', reason: `${what}: no answer within ${state.timeoutMs}ms` }
  }
  const refused = findPrivateTargetError(error)
  if (refused) return { kind: 'failed', reason: `${what}: ${refused.message}` }
  const smtp = (
    typeof error === 'object' && error !== null ? error : {}
  ) as SMTPConnection.SMTPError
  const message = error instanceof Error ? error.message : String(error)
  const code = smtp.responseCode
  const at = smtp.command === undefined ? ' the message' : ` the ${smtp.command} command`
  if (code !== undefined && code >= 500) {
    return { kind: 'failed', reason: `${what} refused${at} (${message}); ${smtpHint(smtp)}` }
  }
  if (code !== undefined && code >= 400) {
    return { kind: 'retry', reason: `${what} deferred${at} (${message})` }
  }
  if (smtp.code === 'EAUTH') {
    return {
      kind: 'failed',
      reason: `${what}: cannot log in (${message}); check \`username\`, \`starttls\` and whether the server offers AUTH`,
    }
  }
  const detail = smtp.code === undefined ? message : `${smtp.code}: ${message}`
  return { kind: 'retry', reason: `${what}: could not deliver (${detail})` }
}

function smtpHint(error: SMTPConnection.SMTPError): string {
  const command = (error.command ?? '').toUpperCase()
  if (error.code === 'EAUTH' || command.startsWith('AUTH')) return 'check `username` and `password`'
  if (error.responseCode === 530) return 'the relay requires a login; set `username` and `password`'
  if (command === 'STARTTLS') {
    return 'the relay does not offer STARTTLS; set `starttls: opportunistic` or `secure: true`'
  }
  if (command.startsWith('MAIL')) return 'check `from`; the relay may not allow sending as it'
  if (command.startsWith('RCPT')) return 'check `to`; the relay refused the recipients'
  return 'the relay refused the message, and sending it again will not help'
}

interface Transaction {
  envelope: SMTPConnection.Envelope
  raw: Buffer
  auth: SMTPConnection.Credentials | undefined
  signal: AbortSignal
}

/**
 * A TCP connection to the relay through the SSRF guard, handed to nodemailer already connected
 * (it would otherwise resolve and connect by itself); implicit TLS is started on it by nodemailer.
 */
function connectGuarded(
  host: string,
  port: number,
  guard: OutboundGuard,
  signal: AbortSignal,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port }, guard)
    const settle = (error?: unknown): void => {
      signal.removeEventListener('abort', onAbort)
      socket.off('connect', onConnect)
      socket.off('error', settle)
      if (error === undefined) return resolve(socket)
      socket.destroy()
      reject(error)
    }
    const onConnect = (): void => settle()
    const onAbort = (): void => settle(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', onConnect)
    socket.once('error', settle)
  })
}

/** One SMTP session: connect, log in when configured, send, then QUIT; closed on any failure. */
function transact(
  connection: SMTPConnection,
  transaction: Transaction,
): Promise<SMTPConnection.SentMessageInfo> {
  const { signal } = transaction
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (error: unknown, info?: SMTPConnection.SentMessageInfo): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (info === undefined) {
        connection.close()
        reject(error)
      } else {
        connection.quit()
        resolve(info)
      }
    }
    const onAbort = (): void => settle(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    // A listener stays for the connection's life: an 'error' event without one would crash Keel.
    connection.on('error', (error) => settle(error))
    // A reply that arrived with the close is processed first, so it wins over the bare close.
    connection.on('end', () =>
      setImmediate(() => settle(new Error('the server closed the connection'))),
    )
    connection.connect(() => {
      const send = (): void =>
        connection.send(transaction.envelope, transaction.raw, (error, info) =>
          error ? settle(error) : settle(undefined, info),
        )
      if (transaction.auth === undefined) return send()
      connection.login(transaction.auth, (error) => (error ? settle(error) : send()))
    })
  })
}

/** Sends a plain-text and HTML email through an SMTP relay (nodemailer's SMTP client). */
export const emailChannel = defineChannel({
  kind: 'email',
  description: 'send an email through an SMTP relay (implicit TLS or STARTTLS, optional login)',
  configSchema: emailConfigSchema,
  secretFields: ['password'],
  async send(config, message, context) {
    const port = config.port ?? (config.secure ? 465 : 587)
    const what = `email channel: ${config.host}:${port}`
    if (config.password !== undefined && config.username === undefined) {
      return {
        kind: 'failed',
        reason: `${what}: \`password\` is set but \`username\` is missing; add \`username\``,
      }
    }
    const timeoutMs = settingMs(config.timeout) ?? 30_000
    const clock = context.clock ?? systemClock
    const content = emailContent(message, config)
    const mail = new MailComposer({
      from: config.from,
      to: config.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
      messageId: content.messageId,
      references: content.references,
      date: new Date(clock.now()),
      headers: {
        // RFC 3834: tells vacation responders not to answer.
        'Auto-Submitted': 'auto-generated',
        'X-Keel-Delivery': message.id,
        'X-Keel-Fingerprint': message.fingerprint,
      },
    }).compile()
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = AbortSignal.any([context.signal, timeout])
    try {
      const raw = await mail.build()
      const guard = outboundGuard('outbound')
      const connected = guard ? await connectGuarded(config.host, port, guard, signal) : undefined
      const connection = new SMTPConnection({
        ...(connected ? { connection: connected } : {}),
        host: config.host,
        port,
        secure: config.secure,
        requireTLS: config.starttls === 'require',
        ignoreTLS: config.starttls === 'none',
        tls: { rejectUnauthorized: !config.insecureSkipVerify },
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        logger: false,
      })
      const info = await transact(connection, {
        envelope: mail.getEnvelope(),
        raw,
        auth:
          config.username === undefined
            ? undefined
            : { user: config.username, pass: config.password ?? '' },
        signal,
      })
      const rejected = info.rejected.length
      return {
        kind: 'delivered',
        detail:
          rejected === 0
            ? `${what} accepted it for ${info.accepted.join(', ')}`
            : `${what} accepted it for ${info.accepted.join(', ')} but refused ${info.rejected.join(', ')}`,
      }
    } catch (error) {
      return outcomeForSmtpError(what, error, {
        cancelled: context.signal.aborted,
        timedOut: timeout.aborted,
        timeoutMs,
      })
    }
  },
})

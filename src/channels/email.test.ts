import { afterEach, describe, expect, it } from 'vitest'
import {
  startSmtpReceiver,
  type SmtpReceiver,
  type SmtpReceiverOptions,
} from '../../test/helpers/smtp-receiver.js'
import type { NotificationMessage } from './channel.js'
import {
  runChannelContract,
  sampleActions,
  sampleMessage,
  smtpContractReceiver,
} from './channel.contract.js'
import { emailChannel, emailContent, escapeHtml } from './email.js'

function smtpConfig(address: string): Record<string, unknown> {
  const [host, port] = address.split(':')
  return {
    host,
    port: Number(port),
    from: 'Keel <keel@example.org>',
    to: ['oncall@example.org'],
  }
}

runChannelContract('email', {
  definition: emailChannel,
  makeConfig: smtpConfig,
  startReceiver: smtpContractReceiver,
  identifying: (message) => [`Message-ID: <keel.${message.id}@example.org>`],
  // The text part carries the URL as is, the HTML part as an attribute with `&amp;`.
  actionUrlForms: (url) => [`: ${url}\n`, `href="${url.replace(/&/g, '&amp;')}"`],
  decodeDelivery: (raw) => decodeQuotedPrintable(raw).replace(/\r\n/g, '\n'),
  // A mail reader shows the text/plain part as written and reads HTML in the text/html part.
  markup: ['html'],
  markupOf: (delivery) => /<!doctype html>[\s\S]*<\/html>/i.exec(delivery)?.[0] ?? '',
})

/** Undoes quoted-printable soft line breaks and escapes, enough to read a part of a raw mail. */
function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

/** The decoded body of the first MIME part of the given content type. */
function part(raw: string, contentType: string): string {
  const start = raw.indexOf(`Content-Type: ${contentType}`)
  expect(start).toBeGreaterThan(-1)
  const bodyStart = raw.indexOf('\r\n\r\n', start) + 4
  const end = raw.indexOf('\r\n--', bodyStart)
  return decodeQuotedPrintable(raw.slice(bodyStart, end))
}

function header(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ')
  return head
    .split('\r\n')
    .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim()
}

describe('email channel', () => {
  let receiver: SmtpReceiver | undefined

  afterEach(async () => {
    await receiver?.close()
    receiver = undefined
  })

  async function start(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
    receiver = await startSmtpReceiver(options)
    return receiver
  }

  function send(
    smtp: SmtpReceiver,
    config: Record<string, unknown> = {},
    message: NotificationMessage = sampleMessage(),
  ) {
    return emailChannel.send(
      emailChannel.configSchema.parse({ ...smtpConfig(smtp.address), ...config }),
      message,
      { signal: new AbortController().signal, clock: { now: () => Date.UTC(2025, 2, 1, 12, 1) } },
    )
  }

  it('sends a subject with the prefix and status, and marks the mail as automatic', async () => {
    const smtp = await start()
    const outcome = await send(smtp, {
      subjectPrefix: '[prod]',
      to: ['a@example.org', 'b@example.org'],
    })
    expect(outcome.kind).toBe('delivered')
    const [mail] = smtp.messages
    expect(mail?.envelope).toEqual({
      from: 'keel@example.org',
      to: ['a@example.org', 'b@example.org'],
    })
    const raw = mail?.raw ?? ''
    expect(header(raw, 'Subject')).toBe('[prod] [FIRING] web-home is DOWN')
    expect(header(raw, 'Auto-Submitted')).toBe('auto-generated')
    expect(header(raw, 'X-Keel-Delivery')).toBe('ntf-01jq7c9x4m')
    expect(header(raw, 'References')).toBe('<keel.alert.8f2c6b1d0e9a7c35@example.org>')
    expect(header(raw, 'Date')).toBe('Sat, 01 Mar 2025 12:01:00 +0000')
  })

  it('gives a resend the same Message-ID, so it is recognisably the same mail', async () => {
    const smtp = await start()
    await send(smtp)
    await send(smtp)
    const ids = smtp.messages.map((mail) => header(mail.raw, 'Message-ID'))
    expect(ids).toEqual(['<keel.ntf-01jq7c9x4m@example.org>', '<keel.ntf-01jq7c9x4m@example.org>'])
  })

  it('escapes HTML in labels and text, while the text part keeps them as written', async () => {
    const smtp = await start()
    const message = sampleMessage({
      status: 'resolved',
      title: 'web-home is UP again',
      text: 'fixed by "ops" & co',
      labels: { service: '<script>alert(1)</script>' },
    })
    expect((await send(smtp, {}, message)).kind).toBe('delivered')
    const raw = smtp.messages[0]?.raw ?? ''
    expect(header(raw, 'Subject')).toBe('[RESOLVED] web-home is UP again')
    const html = part(raw, 'text/html')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).not.toContain('<script>')
    expect(html).toContain('fixed by &quot;ops&quot; &amp; co')
    expect(part(raw, 'text/plain')).toContain('service: <script>alert(1)</script>')
  })

  it('logs in with username and password when the relay requires it', async () => {
    const smtp = await start({ auth: { username: 'keel', password: 'p4ss' } })
    expect((await send(smtp, { username: 'keel', password: 'p4ss' })).kind).toBe('delivered')
    expect(smtp.messages[0]?.username).toBe('keel')
  })

  it('fails, naming the password, when the relay refuses the credentials', async () => {
    const smtp = await start({ auth: { username: 'keel', password: 'p4ss' } })
    const outcome = await send(smtp, { username: 'keel', password: 'wrong' })
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('`password`') })
    expect(smtp.messages).toHaveLength(0)
  })

  it.each([
    ['a 451 after DATA is retried', 'data', 451, 'retry'],
    ['a 554 after DATA fails', 'data', 554, 'failed'],
    ['a 421 at MAIL FROM is retried', 'mail', 421, 'retry'],
    ['a 553 at MAIL FROM fails', 'mail', 553, 'failed'],
  ] as const)('%s', async (_name, stage, code, kind) => {
    const smtp = await start()
    smtp.rejectWith({ stage, code })
    const outcome = await send(smtp)
    expect(outcome.kind).toBe(kind)
    if (outcome.kind !== 'delivered') expect(outcome.reason).toContain(String(code))
  })

  it('gives up on its own after `timeout` when the relay stalls after DATA', async () => {
    const smtp = await start()
    smtp.stallAt('data')
    const outcome = await send(smtp, { timeout: '500ms' })
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('no answer') })
  })

  it('fails, naming `starttls`, when STARTTLS is required but the relay does not offer it', async () => {
    const smtp = await start()
    const outcome = await send(smtp, { starttls: 'require' })
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('`starttls') })
    expect(smtp.messages).toHaveLength(0)
  })

  it('upgrades with STARTTLS, verifying the certificate unless told not to', async () => {
    const smtp = await start({ starttls: true })
    expect((await send(smtp, { starttls: 'require' })).kind).toBe('retry')
    const outcome = await send(smtp, { starttls: 'require', insecureSkipVerify: true })
    expect(outcome.kind).toBe('delivered')
    expect(smtp.messages).toHaveLength(1)
  })

  it('fails without connecting when a password is given without a username', async () => {
    const smtp = await start()
    const outcome = await send(smtp, { password: 'p4ss' })
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('`username`') })
    expect(smtp.connections()).toBe(0)
  })
})

describe('emailContent', () => {
  it.each([
    ['a firing alert', sampleMessage(), undefined, '[FIRING] web-home is DOWN'],
    [
      'a resolved alert',
      sampleMessage({ status: 'resolved' }),
      undefined,
      '[RESOLVED] web-home is DOWN',
    ],
    ['a prefix', sampleMessage(), '[keel]', '[keel] [FIRING] web-home is DOWN'],
    [
      'a title with line breaks',
      sampleMessage({ title: 'a\r\nBcc: x@y' }),
      undefined,
      '[FIRING] a Bcc: x@y',
    ],
  ])('builds the subject for %s', (_name, message, subjectPrefix, subject) => {
    const from = 'keel@example.org'
    const options = subjectPrefix === undefined ? { from } : { from, subjectPrefix }
    expect(emailContent(message, options).subject).toBe(subject)
  })

  it.each([
    ['a plain id', 'ntf-1', 'Keel <keel@example.org>', '<keel.ntf-1@example.org>'],
    ['an id with spaces and @', 'a b@c', 'keel@example.org', '<keel.a=20b=40c@example.org>'],
    ['a sender without a usable domain', 'x', 'keel@[127.0.0.1]', '<keel.x@keel.invalid>'],
  ])('derives the Message-ID from %s', (_name, id, from, messageId) => {
    expect(emailContent(sampleMessage({ id }), { from }).messageId).toBe(messageId)
  })

  it('links to Keel only through an http(s) URL', () => {
    const from = 'keel@example.org'
    expect(emailContent(sampleMessage(), { from }).html).toContain(
      '<a href="https://keel.example.org/incidents/42">',
    )
    expect(
      emailContent(sampleMessage({ url: 'javascript:alert(1)' }), { from }).html,
    ).not.toContain('javascript:')
  })

  it.each([
    ['markup', '<b>x</b>', '&lt;b&gt;x&lt;/b&gt;'],
    ['quotes in attributes', `"a" 'b'`, '&quot;a&quot; &#39;b&#39;'],
    ['an ampersand once', 'a &amp; b', 'a &amp;amp; b'],
  ])('escapeHtml escapes %s', (_name, input, output) => {
    expect(escapeHtml(input)).toBe(output)
  })
})

describe('email content actions', () => {
  const options = { from: 'Keel <keel@example.org>' }

  it('lists each action URL on its own line of the text part', () => {
    const content = emailContent(sampleMessage({ actions: sampleActions }), options)
    for (const action of sampleActions) {
      expect(content.text).toContain(`\n${action.label}: ${action.url}\n`)
    }
  })

  it('renders each action as a styled link button in the HTML part, escaped for the attribute', () => {
    const content = emailContent(sampleMessage({ actions: sampleActions }), options)
    for (const action of sampleActions) {
      const href = `href="${action.url.replace(/&/g, '&amp;')}"`
      expect(content.html).toContain(href)
      const button = content.html.slice(content.html.indexOf(href))
      expect(button.startsWith(`${href} style="display:inline-block;`)).toBe(true)
      expect(button).toMatch(new RegExp(`^[^<]*>${action.label}</a>`))
    }
  })

  it('escapes a label and a URL that try to break out of the attribute', () => {
    const content = emailContent(
      sampleMessage({
        actions: [
          { kind: 'acknowledge', label: '<b>Ack</b>', url: 'https://k.example/a/x"onclick="y' },
        ],
      }),
      options,
    )
    expect(content.html).toContain('href="https://k.example/a/x&quot;onclick=&quot;y"')
    expect(content.html).toContain('&lt;b&gt;Ack&lt;/b&gt;</a>')
  })
})

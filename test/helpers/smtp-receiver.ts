import type { AddressInfo } from 'node:net'
import { SMTPServer, type SMTPServerSession } from 'smtp-server'

/** One message the receiver accepted. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] }
  /** The message exactly as sent after DATA: headers, blank line, body. */
  raw: string
  /** The username the client authenticated as, if it did. */
  username?: string
}

/** An SMTP stage at which the receiver can refuse or stall. */
export type SmtpStage = 'connect' | 'mail' | 'rcpt' | 'data'

/** A refusal with the given reply code (4xx temporary, 5xx permanent). */
export interface SmtpRejection {
  stage: Exclude<SmtpStage, 'connect'>
  code: number
  message?: string
}

/** Options of `startSmtpReceiver`. */
export interface SmtpReceiverOptions {
  /** When given, clients must log in with exactly these credentials. */
  auth?: { username: string; password: string }
  /** Advertise STARTTLS with smtp-server's built-in test certificate (default: off). */
  starttls?: boolean
}

/** A real SMTP server on loopback that records messages and refuses or stalls on request. */
export interface SmtpReceiver {
  host: string
  port: number
  /** `127.0.0.1:<port>`. */
  address: string
  /** Messages accepted so far, in order. */
  messages: ReceivedMail[]
  /** Number of client connections accepted so far, including refused and stalled ones. */
  connections(): number
  /** Refuses every later transaction at `rejection.stage`; `undefined` accepts again. */
  rejectWith(rejection: SmtpRejection | undefined): void
  /** Never answers at `stage` (the greeting, MAIL, RCPT or end of DATA); `undefined` stops stalling. */
  stallAt(stage: SmtpStage | undefined): void
  /** Resolves once at least `count` messages were accepted; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>
  /** Resolves once at least `count` connections were made; rejects after `timeoutMs`. */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>
  /** Stops listening and drops every open session. */
  close(): Promise<void>
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code })
}

/** Starts an SMTP receiver (the `smtp-server` package) on 127.0.0.1 and an ephemeral port. */
export async function startSmtpReceiver(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = []
  const waiters = new Set<() => void>()
  let connectionCount = 0
  let rejection: SmtpRejection | undefined
  let stalled: SmtpStage | undefined

  function wake(): void {
    for (const waiter of waiters) waiter()
  }

  function gate(stage: SmtpStage, callback: (error?: Error | null) => void): void {
    if (stalled === stage) return
    if (rejection && rejection.stage === stage) {
      callback(
        smtpError(rejection.code, rejection.message ?? `refused by test (${rejection.code})`),
      )
      return
    }
    callback()
  }

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: options.auth === undefined,
    allowInsecureAuth: true,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    closeTimeout: 100,
    onConnect(_session, callback) {
      connectionCount += 1
      wake()
      gate('connect', callback)
    },
    onAuth(auth, _session, callback) {
      const expected = options.auth
      if (expected && auth.username === expected.username && auth.password === expected.password) {
        callback(null, { user: auth.username })
        return
      }
      callback(smtpError(535, '5.7.8 authentication credentials invalid'))
    },
    onMailFrom(_address, _session, callback) {
      gate('mail', callback)
    },
    onRcptTo(_address, _session, callback) {
      gate('rcpt', callback)
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        gate('data', (error) => {
          if (error) return callback(error)
          const from = session.envelope.mailFrom
          messages.push({
            envelope: {
              from: from ? from.address : '',
              to: session.envelope.rcptTo.map((recipient) => recipient.address),
            },
            raw: Buffer.concat(chunks).toString('utf8'),
            ...(typeof session.user === 'string' ? { username: session.user } : {}),
          })
          wake()
          callback()
        })
      })
    },
  })

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.server.address() as AddressInfo

  function waitUntil(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`smtp receiver: expected ${what} within ${timeoutMs}ms`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  }

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    messages,
    connections: () => connectionCount,
    rejectWith(next) {
      rejection = next
    },
    stallAt(stage) {
      stalled = stage
    },
    async waitFor(count, timeoutMs = 10_000) {
      await waitUntil(
        () => messages.length >= count,
        `${count} message(s), got ${messages.length}`,
        timeoutMs,
      )
      return messages
    },
    waitForConnections(count, timeoutMs = 10_000) {
      return waitUntil(
        () => connectionCount >= count,
        `${count} connection(s), got ${connectionCount}`,
        timeoutMs,
      )
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve())
        // Stalled sessions would otherwise wait for closeTimeout and then get a 421 first.
        for (const connection of server.connections) connection.close()
      })
    },
  }
}

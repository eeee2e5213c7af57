import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the receiver saw, recorded as soon as its body had arrived. */
export interface RecordedRequest {
  method: string
  /** Path and query string, as sent (`/hooks/keel?x=1`). */
  path: string
  /** Node's lower-cased header map. */
  headers: IncomingHttpHeaders
  body: string
  /** The answer chosen for it (it may still be pending when `delayMs` is long). */
  response: ReceiverResponse
}

/** How the receiver answers; `delayMs: Infinity` never answers at all. */
export interface ReceiverResponse {
  status?: number
  headers?: Record<string, string>
  body?: string
  delayMs?: number
}

/** A real HTTP server on loopback that records what it is sent and answers as told. */
export interface LoopbackReceiver {
  /** Base URL, `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[]
  /** Sets the answer for every later request (default: 200 with body `ok`). */
  respondWith(response: ReceiverResponse): void
  /** Queues an answer for the next request only; queued answers win over `respondWith`. */
  respondOnce(response: ReceiverResponse): void
  /** Resolves with the requests once at least `count` have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedRequest[]>
  /** Stops listening and drops open connections, including ones still waiting for an answer. */
  close(): Promise<void>
}

/** Starts a loopback HTTP receiver on 127.0.0.1 and an ephemeral port. */
export async function startLoopbackReceiver(): Promise<LoopbackReceiver> {
  const requests: RecordedRequest[] = []
  const queued: ReceiverResponse[] = []
  const waiters = new Set<() => void>()
  const timers = new Set<NodeJS.Timeout>()
  let standing: ReceiverResponse = { status: 200, body: 'ok' }

  function answer(res: ServerResponse, response: ReceiverResponse): void {
    res.writeHead(response.status ?? 200, {
      'content-type': 'text/plain; charset=utf-8',
      ...response.headers,
    })
    res.end(response.body ?? '')
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const response = queued.shift() ?? standing
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        response,
      })
      for (const wake of waiters) wake()
      const delayMs = response.delayMs ?? 0
      if (delayMs === Infinity) return
      if (delayMs <= 0) return answer(res, response)
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!res.destroyed) answer(res, response)
      }, delayMs)
      timers.add(timer)
    })
  })
  // Keep-alive sockets from the client's pool would otherwise hold close() open.
  server.keepAliveTimeout = 1_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith(response) {
      standing = response
    },
    respondOnce(response) {
      queued.push(response)
    },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length < count) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(requests)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(
            new Error(
              `loopback receiver: expected ${count} request(s) within ${timeoutMs}ms, got ${requests.length}`,
            ),
          )
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      return new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      })
    },
  }
}

import { request } from 'undici'
import { outboundDispatcher, outboundGuard } from '../checks/outbound-guard.js'
import { findPrivateTargetError } from '../checks/private-address.js'
import type { HttpRequestPlan } from '../core/runbooks/index.js'

/** What an HTTP step got back. */
export interface HttpResult {
  status?: number
  error?: string
  /** The start of the response body, for the run's record. */
  body: string
  truncated: boolean
  timedOut: boolean
}

const maxBodyBytes = 16 * 1024

/** Sends an HTTP step's request (already rendered) and reads up to 16 KiB of the answer. */
export async function runHttp(plan: HttpRequestPlan, timeoutMs: number): Promise<HttpResult> {
  const signal = AbortSignal.timeout(timeoutMs)
  const dispatcher = outboundDispatcher(outboundGuard('outbound'))
  try {
    const response = await request(plan.url, {
      ...(dispatcher ? { dispatcher } : {}),
      method: plan.method as 'GET',
      headers: plan.headers,
      ...(plan.body !== undefined ? { body: plan.body } : {}),
      signal,
    })
    const chunks: Buffer[] = []
    let size = 0
    let truncated = false
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer
      if (size + buffer.length > maxBodyBytes) {
        chunks.push(buffer.subarray(0, maxBodyBytes - size))
        truncated = true
        response.body.destroy()
        break
      }
      chunks.push(buffer)
      size += buffer.length
    }
    return {
      status: response.statusCode,
      body: Buffer.concat(chunks).toString('utf8'),
      truncated,
      timedOut: false,
    }
  } catch (error) {
    const timedOut = signal.aborted
    return {
      error: timedOut
        ? `no answer within ${timeoutMs} ms`
        : (findPrivateTargetError(error) ?? (error as Error)).message,
      body: '',
      truncated: false,
      timedOut,
    }
  }
}

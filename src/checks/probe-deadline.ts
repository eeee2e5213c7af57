import { performance } from 'node:perf_hooks'
import { formatDuration } from '../core/time.js'
import type { ProbeContext } from './probe.js'

/** The clock and abort signal of one probe run. */
export interface ProbeDeadline {
  /** Aborted by the engine's signal or when `timeoutMs` has passed, whichever comes first. */
  signal: AbortSignal
  /** Milliseconds since the run started, fractional. */
  elapsedMs(): number
  /** Why the run was aborted: `timed out after 5s` or `check aborted`. */
  abortMessage(): string
}

/**
 * Starts the clock of a probe run. The probe's own timer backs up the engine's, so a probe
 * called without a timed signal (a test, the CLI) still stops at `timeoutMs`.
 */
export function probeDeadline(context: ProbeContext): ProbeDeadline {
  const started = performance.now()
  const controller = new AbortController()
  let timedOut = false
  // Not AbortSignal.any(): combined with timeout signals it leaks on Node 20 (nodejs/node#54614).
  const forward = () => {
    clearTimeout(timer)
    controller.abort(context.signal.reason)
  }
  const timer = setTimeout(
    () => {
      context.signal.removeEventListener('abort', forward)
      timedOut = true
      controller.abort(new DOMException('the probe timed out', 'TimeoutError'))
    },
    Math.max(1, context.timeoutMs),
  )
  timer.unref()
  if (context.signal.aborted) forward()
  else context.signal.addEventListener('abort', forward, { once: true })
  const signal = controller.signal
  return {
    signal,
    elapsedMs: () => performance.now() - started,
    abortMessage: () => {
      const reason: unknown = signal.reason
      const timeout = timedOut || (reason instanceof Error && reason.name === 'TimeoutError')
      return timeout ? `timed out after ${formatDuration(context.timeoutMs)}` : 'check aborted'
    },
  }
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
}

/** Waits for a clean-up step, but never longer than `ms`; a hung server must not hold the run. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
    }),
  ])
  clearTimeout(timer)
}

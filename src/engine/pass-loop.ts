import type { Clock } from '../core/time.js'

/** What a `PassLoop` runs and how it learns when work is next due. */
export interface PassLoopOptions {
  clock: Clock
  /** One pass over due work; it should return when nothing more is due now. */
  pass: () => Promise<void>
  /** When the next piece of work falls due, if any (read from the store). */
  nextDue: () => Promise<number | undefined>
  /** The longest sleep between passes, so work queued by another node is seen. */
  pollIntervalMs: number
  onError: (error: unknown) => void
}

/**
 * The polling loop shared by the outbox dispatcher and the escalator: one pass at a time, a
 * `nudge()` during a pass runs one more right after it (nudges coalesce), and between passes it
 * sleeps until the next due row or the poll interval, whichever comes first.
 */
export class PassLoop {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private halted = true

  constructor(private readonly options: PassLoopOptions) {}

  /** True once `stop()` was called (passes check it to end early). */
  get stopped(): boolean {
    return this.halted
  }

  /** The pass in flight, if any. */
  get current(): Promise<void> | undefined {
    return this.running
  }

  /** Starts the loop with a pass now. */
  start(): void {
    this.halted = false
    this.nudge()
  }

  /** Asks for a pass now. */
  nudge(): void {
    if (this.halted) return
    if (this.running) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.running = this.options.pass().finally(() => {
      this.running = undefined
      if (this.again) {
        this.again = false
        this.nudge()
      } else void this.sleep()
    })
  }

  /** Stops scheduling passes; the pass in flight (see `current`) runs to its end. */
  stop(): void {
    this.halted = true
    clearTimeout(this.timer)
  }

  private async sleep(): Promise<void> {
    if (this.halted) return
    const poll = this.options.pollIntervalMs
    let wait = poll
    try {
      const due = await this.options.nextDue()
      if (due !== undefined) wait = Math.min(poll, Math.max(0, due - this.options.clock.now()))
    } catch (error) {
      this.options.onError(error)
    }
    if (this.halted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.nudge(), wait)
  }
}

/** What a `PassWorker` passes to its loop; the pass and the next due time are its own methods. */
export type PassWorkerOptions = Omit<PassLoopOptions, 'pass' | 'nextDue'>

/**
 * A background worker driven by a `PassLoop` (the dispatcher, the escalator, the group
 * notifier): subclasses supply `pass()` and `nextDue()` and get `start`, `nudge`, `stop` and
 * `idle` with the same meaning everywhere.
 */
export abstract class PassWorker {
  protected readonly loop: PassLoop

  constructor(options: PassWorkerOptions) {
    this.loop = new PassLoop({
      ...options,
      pass: () => this.pass(),
      nextDue: () => this.nextDue(),
    })
  }

  /** One pass over due work; it checks `loop.stopped` to end early. */
  protected abstract pass(): Promise<void>

  /** When the next piece of work falls due, if any. */
  protected abstract nextDue(): Promise<number | undefined>

  /** Starts the loop with a pass now. */
  start(): void {
    this.loop.start()
  }

  /** Asks for a pass now (after new work was queued, or to test). */
  nudge(): void {
    this.loop.nudge()
  }

  /** Stops and waits for the pass in flight (at most `deadlineMs`). */
  async stop(deadlineMs = 5_000): Promise<void> {
    this.loop.stop()
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref())
    await Promise.race([this.loop.current, timeout])
  }

  /** Resolves when the pass in flight, if any, has finished; for tests. */
  async idle(): Promise<void> {
    while (this.loop.current) await this.loop.current
  }
}

import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { parameterEnvironment, type ParameterValues } from '../core/runbooks/index.js'

/** The most output kept per command step (the rest is counted, streamed, and dropped). */
export const maxStepOutputBytes = 64 * 1024

/** What a command step did. */
export interface CommandResult {
  exitCode?: number
  signal?: string
  timedOut: boolean
  /** Why it could not start (shell missing). */
  spawnError?: string
  /** stdout and stderr interleaved as they arrived, up to maxStepOutputBytes. */
  output: string
  truncated: boolean
  durationMs: number
}

/** How to run one command step. */
export interface RunCommandOptions {
  shell: string
  /** The script, from the runbook file only: never built from parameter values. */
  script: string
  params: ParameterValues
  timeoutMs: number
  cwd?: string
  /** Called with each chunk of output as it arrives (whole UTF-8 characters). */
  onOutput?: (chunk: string) => void
  /** Called once the shell runs, with its pid, which is also its process group's id. */
  onSpawn?: (pid: number) => void
  signal?: AbortSignal
  /** Elapsed-time source in ms; performance.now by default. */
  elapsed?: () => number
}

/**
 * The environment commands start with: a fixed PATH, C locale, HOME and TMPDIR, never Keel's
 * own environment (which may hold its secrets).
 */
export function baseEnvironment(): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    HOME: process.env.HOME ?? '/tmp',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    // The shell leads its own process group (detached), so this also ends what it started.
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is already gone.
  }
}

/**
 * Runs a command step: `shell -c script` with parameter values only in the environment (each
 * as `NAME` and `KEEL_PARAM_NAME`), so no value is ever parsed as shell text. The shell leads its
 * own process group, which is killed at the timeout, on abort, and when the shell exits (what
 * it left running in the background ends with the step).
 */
export function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const elapsed = options.elapsed ?? (() => performance.now())
  const started = elapsed()
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let kept = 0
    let total = 0
    let timedOut = false
    let settled = false
    const child = spawn(options.shell, ['-c', options.script], {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...baseEnvironment(), ...parameterEnvironment(options.params) },
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    })
    if (child.pid !== undefined) options.onSpawn?.(child.pid)
    const decoder = new StringDecoder('utf8')
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, options.timeoutMs)
    const onAbort = () => killGroup(child.pid)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const take = (chunk: Buffer) => {
      total += chunk.length
      if (kept < maxStepOutputBytes) {
        const part = chunk.subarray(0, maxStepOutputBytes - kept)
        chunks.push(part)
        kept += part.length
      }
      const text = decoder.write(chunk)
      if (text !== '') options.onOutput?.(text)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.stdout.on('error', () => undefined)
    child.stderr.on('error', () => undefined)
    let grace: NodeJS.Timeout | undefined
    const finish = (result: Pick<CommandResult, 'exitCode' | 'signal' | 'spawnError'>) => {
      if (settled) return
      settled = true
      const rest = decoder.end()
      if (rest !== '') options.onOutput?.(rest)
      clearTimeout(timer)
      clearTimeout(grace)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({
        ...result,
        timedOut,
        output: Buffer.concat(chunks).toString('utf8'),
        truncated: total > kept,
        durationMs: Math.round(elapsed() - started),
      })
    }
    child.on('error', (error) => finish({ spawnError: error.message }))
    child.once('exit', (code, signal) => {
      // Children left in the background would outlive the step (and hold the pipes): the group
      // goes with its shell. The pid cannot be reused while the group has members.
      killGroup(child.pid)
      // A grandchild that left the group may still hold the pipes open; do not wait for long.
      grace = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        finish({ ...(code !== null ? { exitCode: code } : {}), ...(signal ? { signal } : {}) })
      }, 1_000)
    })
    child.once('close', (code, signal) =>
      finish({ ...(code !== null ? { exitCode: code } : {}), ...(signal ? { signal } : {}) }),
    )
  })
}

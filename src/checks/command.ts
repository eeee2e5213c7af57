import { spawn } from 'node:child_process'
import { z } from 'zod'
import {
  evaluateConditions,
  exitCodeState,
  exitCodeStatus,
  parsePluginOutput,
  type CheckOutcome,
  type CheckStatus,
} from '../core/checks/index.js'
import { errorCode, errorMessage } from './network-error.js'
import { defineProbe } from './probe.js'
import { probeDeadline } from './probe-deadline.js'

const maxOutputBytes = 64 * 1024
const maxErrorBytes = 8 * 1024
/**
 * The longest message a plugin's output gives. Viewers see the message, so it carries the first
 * line's text only (perfdata becomes metrics); long output lines are read for conditions and
 * dropped.
 */
export const maxCommandMessageLength = 500

/** The fields of a `command` monitor. */
export const commandConfigSchema = z.object({
  /** The plugin's path (`/usr/lib/nagios/plugins/check_disk`); run directly, never by a shell. */
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Added to a minimal environment (PATH, LC_ALL=C); Keel's own environment is not passed on. */
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names must be shell-style identifiers'),
      z.string(),
    )
    .default({}),
  cwd: z.string().min(1).optional(),
})

type CommandConfig = z.output<typeof commandConfigSchema>

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  spawnError?: unknown
  timedOut: boolean
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    // The plugin leads its own process group (detached), so this also ends what it started.
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is already gone.
  }
}

function execute(config: CommandConfig, signal: AbortSignal): Promise<Finished> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let stdoutSize = 0
    let stderrSize = 0
    let settled = false
    let timedOut = false
    const child = spawn(config.command, config.args, {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', ...config.env },
      ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
    })
    const finish = (result: Omit<Finished, 'stdout' | 'stderr' | 'timedOut'>) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      clearTimeout(grace)
      resolve({
        ...result,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      })
    }
    let grace: NodeJS.Timeout | undefined
    function onAbort() {
      timedOut = true
      killGroup(child.pid)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    // Stream errors also surface as the child's 'error' or 'close'; a listener keeps them from throwing.
    child.stdout.on('error', () => undefined)
    child.stderr.on('error', () => undefined)
    child.stdout.on('data', (chunk: Buffer) => {
      // Keep draining past the cap so the plugin never blocks on a full pipe.
      if (stdoutSize < maxOutputBytes) stdout.push(chunk.subarray(0, maxOutputBytes - stdoutSize))
      stdoutSize += chunk.length
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrSize < maxErrorBytes) stderr.push(chunk.subarray(0, maxErrorBytes - stderrSize))
      stderrSize += chunk.length
    })
    child.on('error', (error) => finish({ code: null, signal: null, spawnError: error }))
    child.once('exit', (code, exitSignal) => {
      // A grandchild outside the group may keep the pipes open; do not wait for it for long.
      grace = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        finish({ code, signal: exitSignal })
      }, 1_000)
    })
    child.once('close', (code, exitSignal) => finish({ code, signal: exitSignal }))
  })
}

function firstLineCapped(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? ''
  return line.length > maxCommandMessageLength
    ? `${line.slice(0, maxCommandMessageLength - 3)}...`
    : line
}

/**
 * Each failed condition in words. One that reads `[BODY]` (the whole output, long lines
 * included) is named as written, without the value, so the output never reaches a viewer.
 */
function conditionFailures(
  conditions: readonly string[],
  observed: Parameters<typeof evaluateConditions>[1],
): string[] {
  return conditions.flatMap((condition) => {
    const verdict = evaluateConditions([condition], observed)
    if (verdict.ok) return []
    return condition.includes('[BODY]')
      ? [`${firstLineCapped(condition)} is not met`]
      : verdict.failures.map(firstLineCapped)
  })
}

function spawnFailure(config: CommandConfig, error: unknown): string {
  const code = errorCode(error)
  if (code === 'ENOENT')
    return `command not found: ${config.command} (or cwd ${config.cwd ?? '.'} is missing)`
  if (code === 'EACCES') return `${config.command} is not executable; check its mode and owner`
  return `cannot run ${config.command}: ${errorMessage(error)}`
}

/** Runs a Nagios-convention plugin: exit code gives the status, output the message and metrics. */
export const commandProbe = defineProbe({
  type: 'command',
  description: 'Nagios plugin: exit code 0/1/2/3 → up/degraded/down, output → message and perfdata',
  configSchema: commandConfigSchema,
  secretFields: ['env'],
  placeholders: ['[EXIT_CODE]', '[RESULT]', '[BODY]', '[RESPONSE_TIME]'],
  expectations: () => [
    { text: 'exit code 0 (OK) or 1 (WARNING)', otherwise: 'down' },
    { text: 'exit code 0 (OK)', otherwise: 'degraded' },
  ],
  target: (config) => [config.command, ...config.args].join(' '),
  executes: (config) => ({
    command: config.command,
    env: config.env,
    ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
  }),
  async run(config, context) {
    const deadline = probeDeadline(context)
    const finished = await execute(config, deadline.signal)
    const latencyMs = Math.round(deadline.elapsedMs() * 1000) / 1000
    if (finished.spawnError !== undefined) {
      return { status: 'down', latencyMs, message: spawnFailure(config, finished.spawnError) }
    }
    const output = parsePluginOutput(finished.stdout)
    const metrics = output.metrics.length > 0 ? { metrics: output.metrics } : {}
    if (finished.timedOut) {
      return {
        status: 'down',
        latencyMs,
        message: `${config.command} ${deadline.abortMessage()}; killed it`,
      }
    }
    if (finished.code === null) {
      return {
        status: 'down',
        latencyMs,
        message: `${config.command} was killed by ${finished.signal ?? 'a signal'}`,
        ...metrics,
      }
    }
    const state = exitCodeState(finished.code)
    const text = firstLineCapped(output.text || finished.stderr.trim())
    let message = text === '' ? `${state} (exit ${finished.code}) without output` : text
    if (state === 'UNKNOWN' && !message.includes('UNKNOWN')) {
      message = `UNKNOWN (exit ${finished.code}): ${message}`
    }
    let status: CheckStatus = exitCodeStatus(finished.code)
    if (context.conditions.length > 0) {
      const failures = conditionFailures(context.conditions, {
        exitCode: finished.code,
        result: output.text,
        body: finished.stdout,
        responseTimeMs: latencyMs,
      })
      if (failures.length > 0) {
        status = 'down'
        message = [message, ...failures].join('; ')
      }
    }
    const outcome: CheckOutcome = { status, latencyMs, message, ...metrics }
    return outcome
  },
})

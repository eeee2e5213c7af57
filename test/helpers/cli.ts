import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

const keelBin = resolve('bin/keel.js')

/** The exit code and output of one `keel` CLI run. */
export interface KeelRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs the `keel` CLI in `cwd` at log level `warn` and resolves with its exit code and output, never rejecting. */
export function runKeel(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<KeelRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [keelBin, ...args],
      { cwd, env: { ...process.env, KEEL_LOG_LEVEL: 'warn', ...env }, timeout: timeoutMs },
      (error, stdout, stderr) =>
        done({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout,
          stderr,
        }),
    )
  })
}

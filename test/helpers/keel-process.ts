import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

const keelBin = resolve('bin/keel.js')

/** A `keel serve` child process. */
export interface KeelProcess {
  process: ChildProcess
  url: string
  /** Everything it printed so far, stdout and stderr interleaved. */
  output: () => string
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>
}

/** Starts `keel serve` as a child process in `cwd` and waits until it listens. */
export async function startKeelProcess(
  configPath: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<KeelProcess> {
  const child = spawn(
    process.execPath,
    [keelBin, 'serve', '--config', configPath, '--listen', '127.0.0.1:0'],
    {
      cwd,
      env: { ...process.env, KEEL_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`keel serve did not start within 60 s:\n${output}`)),
      60_000,
    )
    const check = () => {
      const match = /Keel .* is running at (http:\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        ready(match[1] as string)
      }
    }
    child.stdout?.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      fail(new Error(`keel serve exited with ${code} before listening:\n${output}`))
    })
  })
  return { process: child, url, output: () => output, exited }
}

/** Runs the `keel` CLI to completion and returns its exit code and output. */
export async function runKeelCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [keelBin, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)))
  return { code, stdout, stderr }
}

/** Kills a child with SIGKILL if it still runs, and waits for it. */
export async function killKeelProcess(child: KeelProcess): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGKILL')
  }
  await child.exited
}

/** Polls `test` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  test: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await test())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alive } from './helpers/processes.js'

const keel = resolve('bin/keel.js')
// Each command is a fresh process (several seconds on a busy machine), hence the long timeouts.

function run(
  args: string[],
  cwd: string,
  input = '',
  user = 'dana',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [keel, ...args], {
      cwd,
      env: { ...process.env, KEEL_LOG_LEVEL: 'warn', USER: user },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }))
    child.stdin.end(input)
  })
}

const check = `---
title: Check and confirm
roles: [sysadmin]
alerts: ['alertname="Check"']
parameters: [{ name: WHAT, required: true }, { name: MARK, required: true }]
---
## Step: show — Show it
\`\`\`keel-command
run: |
  echo "first: $WHAT"
  echo "second line"
\`\`\`

## Step: confirm — Confirm
- [ ] It looks right

## Step: mark — Leave a mark
\`\`\`keel-command
run: touch "$MARK"
\`\`\`
`

const guarded = `---
title: Guarded
---
## Step: go — Dangerous
\`\`\`keel-command
run: echo approved-and-ran
dangerous: true
\`\`\`
`

describe('keel runbook on the command line', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-runbook-cli-'))
    mkdirSync(join(dir, 'runbooks'))
    writeFileSync(join(dir, 'runbooks', 'check.md'), check)
    writeFileSync(join(dir, 'runbooks', 'guarded.md'), guarded)
    writeFileSync(
      join(dir, 'keel.yaml'),
      'store: { driver: sqlite, path: keel.db }\nrunbooks: { paths: [runbooks/] }\n',
    )
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('validates runbook files with keel validate, naming the file and line of each problem', async () => {
    const valid = await run(['validate'], dir)
    expect(valid.code, valid.stderr).toBe(0)
    expect(valid.stdout).toContain('is valid: 0 monitors, 0 channels, 2 runbooks')
    writeFileSync(
      join(dir, 'runbooks', 'broken.md'),
      '---\ntitle: [unclosed\n---\n## Step: a — A\n',
    )
    try {
      const broken = await run(['validate'], dir)
      expect(broken.code).toBe(1)
      expect(broken.stderr).toMatch(
        /1 runbook problems keep runbooks from loading:\n {2}runbooks\/broken\.md/,
      )
    } finally {
      rmSync(join(dir, 'runbooks', 'broken.md'))
    }
  }, 120_000)

  it('warns about runbook entities the catalog does not know, and matches kind:id to the plain id', async () => {
    const cataloged = mkdtempSync(join(tmpdir(), 'keel-runbook-catalog-'))
    try {
      mkdirSync(join(cataloged, 'runbooks'))
      writeFileSync(
        join(cataloged, 'runbooks', 'drill.md'),
        check.replace(
          'roles: [sysadmin]',
          'roles: [sysadmin]\nentities: [database:db-main, db-mian]',
        ),
      )
      writeFileSync(
        join(cataloged, 'keel.yaml'),
        'store: { driver: sqlite, path: keel.db }\nrunbooks: { paths: [runbooks/] }\n' +
          'catalog: { entities: { db-main: { kind: database } } }\n',
      )
      const validate = await run(['validate'], cataloged)
      expect(validate.code, validate.stderr).toBe(0)
      expect(validate.stdout).toContain(
        'warning: runbook drill: entities: db-mian: no catalog entity has the id db-mian',
      )
      expect(validate.stdout).not.toContain('entities: database:db-main')
      const list = await run(['runbook', 'list', '--entity', 'db-main'], cataloged)
      expect(list.code, list.stderr).toBe(0)
      expect(list.stdout).toContain('drill')
    } finally {
      rmSync(cataloged, { recursive: true, force: true })
    }
  }, 120_000)

  it('lists and shows runbooks', async () => {
    const list = await run(['runbook', 'list', '--label', 'alertname=Check'], dir)
    expect(list.code).toBe(0)
    expect(list.stdout).toContain('check')
    expect(list.stdout).not.toContain('guarded')
    const show = await run(['runbook', 'show', 'check'], dir)
    expect(show.stdout).toContain('--param WHAT=<string> (required)')
    expect(show.stdout).toContain('## Step: confirm — Confirm')
    const missing = await run(['runbook', 'show', 'nope'], dir)
    expect(missing.code).toBe(3)
  }, 180_000)

  it('runs a runbook with live output, asks at the checklist, and passes values literally', async () => {
    const mark = join(dir, 'marked $(x)')
    const result = await run(
      ['runbook', 'run', 'check', '--param', 'WHAT=a; b `c`', '--param', `MARK=${mark}`],
      dir,
      'looks fine\n',
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('first: a; b `c`\nsecond line\n-- [show] done: exit 0')
    expect(result.stdout).toContain('[ ] It looks right')
    expect(result.stdout).toMatch(/Run \d+ succeeded/)
    expect(existsSync(mark)).toBe(true)
  }, 180_000)

  it('refuses bad parameters, dry-runs, and holds a dangerous run for another person', async () => {
    const bad = await run(['runbook', 'run', 'check', '--param', 'WHAT=x'], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('parameter MARK is required')
    const dry = await run(['runbook', 'run', 'guarded', '--dry-run'], dir)
    expect(dry.stdout).toContain('nothing is executed')
    expect(dry.stdout).toContain('(command, DANGEROUS)')
    const held = await run(['runbook', 'run', 'guarded'], dir)
    const id = /Run (\d+) waits for approval/.exec(held.stdout)?.[1]
    expect(id).toBeDefined()
    const self = await run(['runbook', 'approve', id as string], dir)
    expect(self.code).toBe(1)
    expect(self.stderr).toContain('cannot approve it')
    const other = await run(['runbook', 'approve', id as string], dir, '', 'olga')
    expect(other.code).toBe(0)
    expect(other.stdout).toContain('approved-and-ran')
    expect(other.stdout).toContain(`Run ${id} succeeded`)
  }, 300_000)

  it('a killed `keel runbook run` leaves an interrupted run: resume kills its leftover group and goes on', async () => {
    const work = mkdtempSync(join(tmpdir(), 'keel-runbook-killed-'))
    try {
      const pids = join(work, 'pids')
      mkdirSync(pids)
      mkdirSync(join(work, 'runbooks'))
      writeFileSync(join(work, 'runbooks', 'long.md'), long)
      writeFileSync(
        join(work, 'keel.yaml'),
        'store: { driver: sqlite, path: keel.db }\nrunbooks: { paths: [runbooks/] }\n',
      )
      const cli = spawn(
        process.execPath,
        [keel, 'runbook', 'run', 'long', '--param', `PIDS=${pids}`],
        {
          cwd: work,
          env: { ...process.env, KEEL_LOG_LEVEL: 'warn', USER: 'dana' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stdout = ''
      cli.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      const exited = new Promise((done) => cli.once('exit', done))
      await waitFor('the child pid file', () => existsSync(join(pids, 'child')))
      const id = /Run (\d+) of long started/.exec(stdout)?.[1] as string
      expect(id).toBeDefined()
      const shell = Number(readFileSync(join(pids, 'shell'), 'utf8'))
      const child = Number(readFileSync(join(pids, 'child'), 'utf8'))
      cli.kill('SIGKILL')
      await exited
      expect(alive(shell) && alive(child)).toBe(true)

      const asked = await run(['runbook', 'resume', id], work)
      expect(asked.code).toBe(2)
      expect(asked.stderr).toContain(`run ${id} was interrupted at step work`)
      expect(asked.stderr).toContain('--from next')
      await waitFor('the leftover group to die', () => !alive(shell) && !alive(child))

      const resumed = await run(['runbook', 'resume', id, '--from', 'next'], work)
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stdout).toContain(`Run ${id} succeeded`)
      expect(existsSync(join(pids, 'after'))).toBe(true)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }, 180_000)
})

const long = `---
title: Long
parameters: [{ name: PIDS, required: true }]
---
## Step: work — Work for a long time
\`\`\`keel-command
run: |
  echo $$ > "$PIDS/shell"
  sleep 1000 &
  echo $! > "$PIDS/child.tmp"
  mv "$PIDS/child.tmp" "$PIDS/child"
  wait
timeout: 10m
\`\`\`

## Step: after — After
\`\`\`keel-command
run: touch "$PIDS/after"
\`\`\`
`

/** Waits for a file or a process (polling), up to a bounded deadline. */
async function waitFor(what: string, test: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

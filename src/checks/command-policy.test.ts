import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiEnvRefusal, apiExecutionIssues, originOf } from './command-policy.js'
import { parseMonitorSpec, runCheck, specExecutes } from './registry.js'

describe('apiExecutionIssues', () => {
  let root: string
  let allowed: string
  let outside: string
  let marker: string

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'keel-command-policy-'))
    allowed = join(root, 'plugins')
    outside = join(root, 'elsewhere')
    await mkdir(allowed)
    await mkdir(outside)
    marker = join(root, 'ran')
    const script = `#!/bin/sh\ntouch '${marker}'\necho 'OK: ran'\n`
    await writeFile(join(allowed, 'check_ok'), script, { mode: 0o755 })
    await writeFile(join(allowed, 'not_executable'), script, { mode: 0o644 })
    await writeFile(join(outside, 'evil'), script, { mode: 0o755 })
    await symlink(join(outside, 'evil'), join(allowed, 'check_escape'))
    await symlink(join(allowed, 'check_ok'), join(allowed, 'check_alias'))
    await mkdir(join(allowed, 'subdir'))
    await writeFile(join(allowed, 'group_writable'), script, { mode: 0o755 })
    await chmod(join(allowed, 'group_writable'), 0o757)
  })
  afterAll(async () => rm(root, { recursive: true, force: true }))

  const issuesOf = (command: string, dirs: readonly string[] = [allowed]) =>
    apiExecutionIssues({ command, env: {} }, dirs)

  it('allows an executable regular file inside a listed directory', async () => {
    expect(await issuesOf(join(allowed, 'check_ok'))).toEqual([])
  })

  it('allows a symlink that stays inside the listed directories', async () => {
    expect(await issuesOf(join(allowed, 'check_alias'))).toEqual([])
  })

  it('refuses everything while no directory is listed, naming the field and the fix', async () => {
    const [issue] = await issuesOf(join(allowed, 'check_ok'), [])
    expect(issue?.path).toBe('command')
    expect(issue?.message).toContain('declared only in keel.yaml')
    expect(issue?.message).toContain('checks.commandDirs')
  })

  it.each([
    [
      'a program outside the directories',
      () => '/usr/bin/sqlite3',
      'is not under checks.commandDirs',
    ],
    ['a symlink inside that points outside', () => join(allowed, 'check_escape'), 'resolves to'],
    ['a path through ..', () => `${allowed}/../elsewhere/evil`, 'must not contain ".."'],
    ['a path that stays inside through ..', () => `${allowed}/subdir/../check_ok`, '".."'],
    ['a bare name', () => 'check_ok', 'must be an absolute path'],
    ['a relative path', () => 'plugins/check_ok', 'must be an absolute path'],
    ['a missing file', () => join(allowed, 'check_missing'), 'does not exist'],
    ['a directory', () => join(allowed, 'subdir'), 'is not a regular file'],
    ['a file Keel may not execute', () => join(allowed, 'not_executable'), 'is not executable'],
    [
      'a file every user may write',
      () => join(allowed, 'group_writable'),
      'writable by every user',
    ],
  ])('refuses %s', async (_name, command, message) => {
    const issues = await issuesOf(command())
    expect(issues).toEqual([{ path: 'command', message: expect.stringContaining(message) }])
    expect(issues[0]?.message).toContain(`\`command\` ${command()}`)
  })

  it('refuses a listed directory that every user may write', async () => {
    const open = join(root, 'open')
    await mkdir(open)
    await writeFile(join(open, 'check'), '#!/bin/sh\n', { mode: 0o755 })
    await chmod(open, 0o777)
    const issues = await issuesOf(join(open, 'check'), [open])
    expect(issues[0]?.message).toContain('writable by every user')
  })

  it('refuses env that changes which code runs, and cwd; keeps other variables', async () => {
    const issues = await apiExecutionIssues(
      {
        command: join(allowed, 'check_ok'),
        env: { PGPASSWORD: 'x', LD_PRELOAD: '/tmp/x.so', NODE_OPTIONS: '-r x', path: '/tmp' },
        cwd: '/tmp',
      },
      [allowed],
    )
    expect(issues.map((issue) => issue.path)).toEqual([
      'env.LD_PRELOAD',
      'env.NODE_OPTIONS',
      'env.path',
      'cwd',
    ])
  })

  it.each([
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PATH',
    'NODE_OPTIONS',
    'BASH_ENV',
    'ENV',
    'PERL5OPT',
    'PERL5LIB',
    'PYTHONPATH',
    'PYTHONSTARTUP',
    'RUBYOPT',
    'GLIBC_TUNABLES',
    'GCONV_PATH',
    'JAVA_TOOL_OPTIONS',
    'SHELLOPTS',
    'PS4',
    'IFS',
    'HOME',
    'HTTPS_PROXY',
    'http_proxy',
  ])('refuses env %s from the API', (name) => {
    expect(apiEnvRefusal(name)).toBeDefined()
  })

  it.each(['PGPASSWORD', 'MYSQL_PWD', 'CHECK_TOKEN', 'API_KEY'])('allows env %s', (name) => {
    expect(apiEnvRefusal(name)).toBeUndefined()
  })

  it('treats file: sources as keel.yaml and anything else as the API', () => {
    expect(originOf('file:/etc/keel/keel.yaml', undefined)).toEqual({ from: 'config' })
    expect(originOf('api', { commandDirs: [allowed] })).toEqual({
      from: 'api',
      commandDirs: [allowed],
    })
    expect(originOf('api', undefined)).toEqual({ from: 'api', commandDirs: [] })
  })

  describe('runCheck', () => {
    const spec = (command: string) => {
      const parsed = parseMonitorSpec({ type: 'command', command })
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
      return parsed.spec
    }

    it('knows which probes execute from their definition', () => {
      expect(specExecutes({ type: 'command' })).toBe(true)
      expect(specExecutes({ type: 'http' })).toBe(false)
    })

    it('reports an API monitor whose program is no longer allowed down, without running it', async () => {
      await rm(marker, { force: true })
      const outcome = await runCheck(spec(join(allowed, 'check_ok')), {
        origin: { from: 'api', commandDirs: [outside] },
      })
      expect(outcome.status).toBe('down')
      expect(outcome.message).toMatch(/^not run: `command` .* is not under checks\.commandDirs/)
      expect(existsSync(marker)).toBe(false)
    })

    it('refuses when the caller names no origin', async () => {
      await rm(marker, { force: true })
      const outcome = await runCheck(spec(join(allowed, 'check_ok')))
      expect(outcome).toMatchObject({ status: 'down', message: expect.stringMatching(/^not run/) })
      expect(existsSync(marker)).toBe(false)
    })

    it('runs an allowed API monitor and any keel.yaml monitor', async () => {
      await rm(marker, { force: true })
      const api = await runCheck(spec(join(allowed, 'check_ok')), {
        origin: { from: 'api', commandDirs: [allowed] },
      })
      expect(api).toMatchObject({ status: 'up', message: 'OK: ran' })
      expect(existsSync(marker)).toBe(true)
      await rm(marker, { force: true })
      const config = await runCheck(spec(join(outside, 'evil')), { origin: { from: 'config' } })
      expect(config).toMatchObject({ status: 'up', message: 'OK: ran' })
      expect(existsSync(marker)).toBe(true)
    })
  })
})

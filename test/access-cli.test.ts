import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runKeel } from './helpers/cli.js'

const run = (args: string[], cwd: string) => runKeel(args, cwd, { USER: 'ops' }, 90_000)

describe('keel user, token and audit commands', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-access-cli-'))
    writeFileSync(
      join(dir, 'keel.yaml'),
      'server:\n  publicUrl: https://keel.example.org\nstore:\n  driver: sqlite\n  path: keel.db\n',
    )
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('adds a user with a one-time setup link, then shows and exports the audit trail', async () => {
    const added = await run(
      ['user', 'add', 'alice', '--role', 'responder', '--team', 'dba:responder'],
      dir,
    )
    expect(added.stderr).toBe('')
    expect(added.stdout).toContain('User alice (responder) created.')
    expect(added.stdout).toMatch(/https:\/\/keel\.example\.org\/setup#[\w-]{43}\n/)

    const bad = await run(['user', 'add', 'bob', '--team', 'dba:boss'], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--team must be <team>[:<role>]')

    const token = await run(
      ['token', 'create', '--name', 'ci', '--role', 'operator', '--team', 'dba'],
      dir,
    )
    expect(token.stdout).toMatch(/keel_[\w-]{43}/)

    const audit = await run(['audit', '--actor', 'cli:ops', '--since', '1h'], dir)
    expect(audit.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+OBJECT\s+SOURCE$/)
    for (const action of ['user.create', 'user.setup-link', 'token.create']) {
      expect(audit.stdout).toContain(action)
    }

    const exported = await run(['audit', 'export', '--object', 'user:alice'], dir)
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string })
    expect(lines.map((l) => l.action)).toEqual(['user.create', 'user.setup-link'])
    expect(lines.every((l) => l.actor === 'cli:ops')).toBe(true)
  }, 300_000)

  it("creates tokens owned by the host user or a Keel user and lists each token's owner", async () => {
    await run(['user', 'add', 'dana', '--role', 'operator'], dir)
    const own = await run(['token', 'create', '--name', 'host-ci', '--role', 'viewer'], dir)
    expect(own.stdout).toMatch(/keel_[\w-]{43}/)
    const dana = await run(
      ['token', 'create', '--name', 'dana-ci', '--role', 'viewer', '--owner', 'dana'],
      dir,
    )
    expect(dana.stdout).toMatch(/keel_[\w-]{43}/)
    const nobody = await run(
      ['token', 'create', '--name', 'x', '--role', 'viewer', '--owner', 'nobody'],
      dir,
    )
    expect(nobody.code).toBe(2)
    expect(nobody.stderr).toContain('user nobody does not exist')

    const listed = await run(['token', 'list'], dir)
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+ROLE\s+TEAM\s+OWNER\s+EXPIRES/)
    expect(listed.stdout).toMatch(/host-ci\s+viewer\s+-\s+cli:ops\s/)
    expect(listed.stdout).toMatch(/dana-ci\s+viewer\s+-\s+user:dana\s/)
  }, 300_000)

  it('links an OpenID Connect identity to a user and unlinks it, audited', async () => {
    await run(['user', 'add', 'carol', '--role', 'responder'], dir)
    const issuer = 'https://login.example.org/realms/ops'
    const linked = await run(
      ['user', 'link-oidc', 'carol', '--issuer', issuer, '--subject', '8f1c-carol'],
      dir,
    )
    expect(linked.stderr).toBe('')
    expect(linked.stdout).toContain(`User carol is linked to 8f1c-carol at ${issuer}.`)
    const listed = await run(['user', 'list'], dir)
    expect(listed.stdout).toMatch(/carol\s+responder\s+-\s+oidc\s/)

    const bad = await run(
      ['user', 'link-oidc', 'carol', '--issuer', 'login', '--subject', 'x'],
      dir,
    )
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("issuer must be the provider's issuer URL")

    const unlinked = await run(['user', 'unlink-oidc', 'carol'], dir)
    expect(unlinked.stdout).toContain('User carol has no OpenID Connect link now.')
    const audit = await run(['audit', 'export', '--object', 'user:carol'], dir)
    const actions = audit.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { action: string }).action)
    expect(actions).toEqual([
      'user.create',
      'user.setup-link',
      'user.link-oidc',
      'user.unlink-oidc',
    ])
  }, 300_000)
})

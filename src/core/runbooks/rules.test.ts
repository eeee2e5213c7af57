import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  approvalPermission,
  autoRunPermission,
  runPermission,
  type RunbookActor,
} from './access.js'
import { filterRunbooks, unknownRunbookEntities } from './match.js'
import type { Runbook } from './model.js'
import { resolveParameters } from './parameters.js'
import { parseRunbook } from './parse-runbook.js'
import { planRun } from './plan.js'
import { renderHttpRequest } from './render-http.js'

function runbook(front: string, body = '## Step: a\n- [ ] do it\n'): Runbook {
  const result = parseRunbook(
    { name: 'rb', text: `---\ntitle: T\n${front}---\n${body}` },
    parseYaml,
  )
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'))
  return result.runbook
}

const params = runbook(`parameters:
  - { name: HOST, required: true, pattern: '[a-z0-9.-]+' }
  - { name: COUNT, type: number, default: 3 }
  - { name: FORCE, type: boolean, default: false }
  - { name: MODE, type: enum, values: [fast, safe], default: safe }
  - { name: NOTE }
`)

describe('resolveParameters', () => {
  it.each([
    {
      name: 'defaults fill in',
      given: { HOST: 'db1' },
      values: { HOST: 'db1', COUNT: '3', FORCE: 'false', MODE: 'safe', NOTE: '' },
    },
    {
      name: 'numbers and booleans arrive as text',
      given: { HOST: 'db1', COUNT: 5, FORCE: true },
      values: { HOST: 'db1', COUNT: '5', FORCE: 'true', MODE: 'safe', NOTE: '' },
    },
    {
      name: 'a hostile string is kept exactly',
      given: { HOST: 'db1', NOTE: '; rm -rf / $(x) `y` "\n' },
      values: {
        HOST: 'db1',
        COUNT: '3',
        FORCE: 'false',
        MODE: 'safe',
        NOTE: '; rm -rf / $(x) `y` "\n',
      },
    },
  ])('$name', ({ given, values }) => {
    expect(resolveParameters(params, given)).toEqual({ ok: true, values })
  })

  it.each([
    { name: 'a missing required value', given: {}, issue: 'parameter HOST is required' },
    {
      name: 'a value outside the pattern',
      given: { HOST: 'db1; rm' },
      issue: 'must match /[a-z0-9.-]+/',
    },
    { name: 'a non-number', given: { HOST: 'a', COUNT: 'many' }, issue: 'COUNT must be a number' },
    {
      name: 'a non-boolean',
      given: { HOST: 'a', FORCE: 'yes' },
      issue: 'FORCE must be true or false',
    },
    {
      name: 'an enum outside its values',
      given: { HOST: 'a', MODE: 'rash' },
      issue: 'MODE must be one of fast, safe',
    },
    {
      name: 'an unknown parameter',
      given: { HOST: 'a', OTHER: '1' },
      issue: 'unknown parameter "OTHER"',
    },
    { name: 'a NUL byte', given: { HOST: 'a', NOTE: 'a\0b' }, issue: 'NUL byte' },
  ])('refuses $name', ({ given, issue }) => {
    const result = resolveParameters(params, given)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues.join('\n')).toContain(issue)
  })
})

const dangerous = runbook(
  'approveRole: operator\n',
  '## Step: wipe\n```keel-command\nrun: echo wipe\ndangerous: true\n```\n',
)
const alice: RunbookActor = { name: 'alice', role: 'responder' }

describe('who may run and approve', () => {
  it.each([
    { name: 'a responder runs a default runbook', rb: runbook(''), actor: alice, ok: true },
    {
      name: 'a viewer may not',
      rb: runbook(''),
      actor: { name: 'v', role: 'viewer' as const },
      ok: false,
    },
    {
      name: 'runRole operator stops a responder',
      rb: runbook('runRole: operator\n'),
      actor: alice,
      ok: false,
    },
    { name: 'a listed user runs', rb: runbook('allowedUsers: [alice]\n'), actor: alice, ok: true },
    {
      name: 'an unlisted admin may not',
      rb: runbook('allowedUsers: [alice]\n'),
      actor: { name: 'root', role: 'admin' as const },
      ok: false,
    },
    {
      name: 'a member of a listed team runs',
      rb: runbook('allowedTeams: [dba]\n'),
      actor: { ...alice, name: 'bob', teams: ['dba'] },
      ok: true,
    },
  ])('$name', ({ rb, actor, ok }) => {
    expect(runPermission(rb, actor).ok).toBe(ok)
  })

  it.each([
    {
      name: 'the requester cannot approve',
      approver: { name: 'alice', role: 'admin' as const },
      status: 'pendingApproval',
      reason: 'cannot approve it',
    },
    {
      name: 'a responder is below approveRole',
      approver: { name: 'bob', role: 'responder' as const },
      status: 'pendingApproval',
      reason: 'needs role operator',
    },
    {
      name: 'a running run needs no approval',
      approver: { name: 'bob', role: 'operator' as const },
      status: 'running',
      reason: 'only a run waiting',
    },
    {
      name: 'an operator who is someone else approves',
      approver: { name: 'bob', role: 'operator' as const },
      status: 'pendingApproval',
      reason: undefined,
    },
  ])('$name', ({ approver, status, reason }) => {
    const result = approvalPermission(dangerous, { requestedBy: 'alice', status }, approver)
    if (reason === undefined) expect(result).toEqual({ ok: true })
    else expect(!result.ok && result.reason).toContain(reason)
  })

  it.each([
    {
      name: "a token the requester owns cannot approve the requester's run",
      run: { requestedBy: 'user:alice', requestedByPerson: 'user:alice' },
      approver: { name: 'token:ci', person: 'user:alice', role: 'admin' as const },
      ok: false,
    },
    {
      name: "the requester's session cannot approve a run its token asked for",
      run: { requestedBy: 'token:ci', requestedByPerson: 'user:alice' },
      approver: { name: 'user:alice', role: 'admin' as const },
      ok: false,
    },
    {
      name: 'two tokens of the same person are one person',
      run: { requestedBy: 'token:a', requestedByPerson: 'cli:root' },
      approver: { name: 'token:b', person: 'cli:root', role: 'admin' as const },
      ok: false,
    },
    {
      name: 'a token another person owns approves',
      run: { requestedBy: 'user:alice', requestedByPerson: 'user:alice' },
      approver: { name: 'token:ci', person: 'user:bob', role: 'operator' as const },
      ok: true,
    },
    {
      name: 'a run stored before people were recorded compares identities',
      run: { requestedBy: 'user:alice' },
      approver: { name: 'user:bob', role: 'operator' as const },
      ok: true,
    },
  ])('$name', ({ run, approver, ok }) => {
    const result = approvalPermission(dangerous, { ...run, status: 'pendingApproval' }, approver)
    expect(result.ok).toBe(ok)
    if (!result.ok) expect(result.reason).toContain('cannot approve it')
  })
})

describe('automatic runs', () => {
  const auto = runbook('autoRun: { enabled: true, maxRunsPerHour: 2 }\n')
  const now = 10_000_000
  it.each([
    { name: 'a runbook without autoRun is refused', rb: runbook(''), starts: [], ok: false },
    { name: 'the first run is allowed', rb: auto, starts: [], ok: true },
    { name: 'a second run within the hour is allowed', rb: auto, starts: [now - 60_000], ok: true },
    {
      name: 'a third run within the hour is refused',
      rb: auto,
      starts: [now - 60_000, now - 1_000],
      ok: false,
    },
    {
      name: 'runs older than an hour do not count',
      rb: auto,
      starts: [now - 3_600_000, now - 4_000_000],
      ok: true,
    },
  ])('$name', ({ rb, starts, ok }) => {
    expect(autoRunPermission(rb, starts, now).ok).toBe(ok)
  })
})

describe('plans and matching', () => {
  const http = runbook(
    'parameters: [{ name: Q }]\nalerts: [\'alertname="DNSFail", severity=~"critical|warning"\']\nroles: [network]\n',
    '## Step: call\n```keel-http\nmethod: POST\nurl: http://127.0.0.1:9/lookup?q={{Q}}\nheaders: { x-q: "{{Q}}" }\nbody: { name: "{{Q}}" }\n```\n',
  )

  it('encodes parameters for the URL and the JSON body, never splicing them raw', () => {
    const step = http.steps[0]
    if (step?.kind !== 'http') throw new Error('expected an http step')
    const rendered = renderHttpRequest(step, { Q: 'a b&c="d"' })
    expect(rendered).toEqual({
      ok: true,
      request: {
        method: 'POST',
        url: 'http://127.0.0.1:9/lookup?q=a%20b%26c%3D%22d%22',
        headers: { 'x-q': 'a b&c="d"', 'content-type': 'application/json' },
        body: '{"name":"a b&c=\\"d\\""}',
      },
    })
    expect(renderHttpRequest(step, { Q: 'x\r\nEvil: 1' }).ok).toBe(false)
  })

  it('a dry-run plan shows the script and its environment as they would run', () => {
    const plan = planRun(dangerous, {})
    expect(plan.needsApproval).toBe(true)
    expect(plan.steps[0]?.command).toEqual({
      shell: '/bin/sh',
      script: 'echo wipe',
      env: {},
      timeoutMs: 300_000,
    })
    const withParam = planRun(params, { HOST: 'db1' })
    expect(withParam.steps[0]).toMatchObject({ kind: 'checklist', items: ['do it'], next: ['end'] })
  })

  it.each([
    {
      name: 'by alert labels',
      filter: { labels: { alertname: 'DNSFail', severity: 'warning' } },
      names: ['rb'],
    },
    {
      name: 'labels that do not match',
      filter: { labels: { alertname: 'DNSFail', severity: 'info' } },
      names: [],
    },
    { name: 'by role', filter: { role: 'network' }, names: ['rb'] },
    { name: 'by another role', filter: { role: 'dba' }, names: [] },
  ])('filters runbooks $name', ({ filter, names }) => {
    expect(filterRunbooks([http], filter).map((r) => r.name)).toEqual(names)
  })
})

describe('runbooks match entities written as kind:id, plain id or plain kind', () => {
  const book = (name: string, entities: string[]) => ({ name, roles: [], alerts: [], entities })
  const books = [
    book('drill', ['database:db-main']),
    book('plain', ['db-main']),
    book('hosts', ['host']),
    book('other', ['database:db-replica']),
  ]
  it.each([
    { entity: 'db-main', entityKind: undefined, names: ['drill', 'plain'] },
    { entity: 'database:db-main', entityKind: undefined, names: ['drill', 'plain'] },
    { entity: 'db-main', entityKind: 'database', names: ['drill', 'plain'] },
    { entity: 'service:db-main', entityKind: undefined, names: ['plain'] },
    { entity: 'shop-host', entityKind: 'host', names: ['hosts'] },
    { entity: 'host:shop-host', entityKind: undefined, names: ['hosts'] },
    { entity: 'shop-host', entityKind: undefined, names: [] },
  ])('$entity (kind $entityKind) selects $names', ({ entity, entityKind, names }) => {
    const filter = { entity, ...(entityKind ? { entityKind } : {}) }
    expect(filterRunbooks(books, filter).map((r) => r.name)).toEqual(names)
  })
})

describe('unknownRunbookEntities', () => {
  const catalog = { 'db-main': { kind: 'database' }, 'shop-host': { kind: 'host' } }
  it.each([
    { entry: 'database:db-main', warning: undefined },
    { entry: 'db-main', warning: undefined },
    { entry: 'host', warning: undefined },
    {
      entry: 'service:db-main',
      warning: 'runbook rb: entities: service:db-main: entity db-main is a database',
    },
    { entry: 'database:db-mian', warning: 'no catalog entity has the id db-mian;' },
    { entry: 'cache', warning: 'no catalog entity has the id cache or the kind cache' },
  ])('$entry warns $warning', ({ entry, warning }) => {
    const warnings = unknownRunbookEntities([{ name: 'rb', entities: [entry] }], catalog)
    if (warning === undefined) expect(warnings).toEqual([])
    else expect(warnings).toEqual([expect.stringContaining(warning)])
  })
})

describe('allow-lists name people by login user or by actor name', () => {
  it.each([
    { name: 'a login user listed bare', actor: { name: 'user:alice', user: 'alice' }, ok: true },
    { name: 'a token listed by actor name', actor: { name: 'token:ci' }, ok: true },
    {
      name: 'a token whose name matches a bare entry is not that user',
      actor: { name: 'token:alice' },
      ok: false,
    },
  ])('$name', ({ actor, ok }) => {
    const rb = runbook('allowedUsers: [alice, "token:ci"]\n')
    expect(runPermission(rb, { ...actor, role: 'operator' }).ok).toBe(ok)
  })
})

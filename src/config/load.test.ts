import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  formatIssues,
  loadConfig,
  parseConfigText,
  type ConfigIssue,
  type LoadResult,
} from './load.js'

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'keel-config-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function issuesOf(result: LoadResult): ConfigIssue[] {
  if (result.ok) throw new Error(`expected issues, got a config: ${JSON.stringify(result.config)}`)
  return result.issues
}

function configOf(result: LoadResult) {
  if (!result.ok) throw new Error(`expected a config, got:\n${formatIssues(result.issues)}`)
  return result
}

async function write(files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
}

describe('loadConfig from a file', () => {
  it('loads the full example with every section', async () => {
    const file = path.join(fixtures, 'full.yaml')
    const result = configOf(await loadConfig(file, { PAGER_SECRET: 'hook-secret' }))
    const { config } = result
    expect(result.files).toEqual([file])
    expect(config.server).toEqual({
      listen: '0.0.0.0:9090',
      publicUrl: 'https://keel.example.org',
      shutdownTimeout: 10_000,
      trustProxy: [],
    })
    expect(config.store).toEqual({ driver: 'sqlite', path: path.join(fixtures, 'data', 'keel.db') })
    expect(config.retention).toEqual({
      raw: 7_200_000,
      minute: 43_200_000,
      hour: 2_592_000_000,
      day: 31_536_000_000,
    })
    expect(config.scheduler).toEqual({ concurrency: 64, jitter: false })
    expect(config.defaults.channels).toEqual(['ops-slack'])
    expect(Object.keys(config.channels)).toEqual(['ops-slack', 'pager-hook', 'dba-mail'])
    expect(config.channels['pager-hook']).toMatchObject({ type: 'webhook', secret: 'hook-secret' })
    expect(config.channels['dba-mail']).toMatchObject({ type: 'email', password: 'changeme' })
    expect(config.monitors['web-home']).toMatchObject({ type: 'http', interval: 30_000 })
    expect(config.monitors['db-main']).toMatchObject({
      type: 'tcp',
      interval: 60_000,
      channels: ['pager-hook', 'dba-mail'],
    })
    expect(result.raw.monitors['web-home']).toEqual({
      type: 'http',
      url: 'https://www.example.org/',
      interval: '30s',
    })
    expect(result.raw.channels['pager-hook']).toMatchObject({ secret: 'hook-secret' })
    expect(result.raw.retention).toEqual({ raw: '2h', minute: '12h', hour: '30d', day: '365d' })
    expect(result.sources).toEqual({
      monitors: { 'web-home': file, 'db-main': file },
      channels: { 'ops-slack': file, 'pager-hook': file, 'dba-mail': file },
    })
  })

  it('reports each of five mistakes at its path and line', async () => {
    const file = path.join(fixtures, 'five-mistakes.yaml')
    const issues = issuesOf(await loadConfig(file, {}))
    expect(issues).toEqual([
      {
        file,
        line: 3,
        column: 11,
        path: 'server.listen',
        message: 'must be host:port, such as 127.0.0.1:8080 or [::]:8080, got "localhost"',
      },
      {
        file,
        line: 6,
        column: 3,
        path: 'channels.pager-hook.url',
        message: 'missing required `url` (a string)',
      },
      {
        file,
        line: 14,
        column: 15,
        path: 'monitors.web-home.interval',
        message: 'interval must be ≥ 1s, got 500ms',
      },
      {
        file,
        line: 19,
        column: 28,
        path: 'monitors.db-main.channels[1]',
        message: 'unknown channel `ops`; defined channels: pager-hook',
      },
      {
        file,
        line: 21,
        column: 1,
        path: 'monitor',
        message: 'unknown key `monitor`; did you mean `monitors`?',
      },
    ])
  })

  it.each([
    {
      name: 'an unknown monitor type names the known ones and the likely one',
      yaml: 'monitors:\n  web:\n    type: htp\n',
      path: 'monitors.web.type',
      message: /^unknown type `htp`; did you mean `http`\? known: .*\btcp\b/,
    },
    {
      name: 'a monitor without a type says the type is required',
      yaml: 'monitors:\n  web:\n    url: https://example.org\n',
      path: 'monitors.web.type',
      message: /^`type` is required; one of: .*\bhttp\b/,
    },
    {
      name: 'a misspelt field inside a monitor suggests the right one',
      yaml: 'monitors:\n  web:\n    type: tcp\n    host: h\n    port: 1\n    intervall: 30s\n',
      path: 'monitors.web.intervall',
      message: /^unknown key `intervall`; did you mean `interval`\?$/,
    },
    {
      name: 'an invalid monitor id explains the rule',
      yaml: 'monitors:\n  Web Home:\n    type: tcp\n    host: h\n    port: 1\n',
      path: 'monitors["Web Home"]',
      message: /^invalid id `Web Home`: ids must be lower-case/,
    },
    {
      name: 'a wrong type names what was expected and what was found',
      yaml: 'scheduler:\n  concurrency: many\n',
      path: 'scheduler.concurrency',
      message: /^expected a number, got a string$/,
    },
    {
      name: 'a value out of an enum lists the allowed values',
      yaml: 'monitors:\n  web:\n    type: tcp\n    host: h\n    port: 1\n    severity: critcal\n',
      path: 'monitors.web.severity',
      message:
        /^must be one of: critical, error, warning, info, got `critcal`; did you mean `critical`\?$/,
    },
    {
      name: 'a secret value is never quoted in a message',
      yaml: 'channels:\n  ops:\n    type: slack\n    url: not-a-url-but-secret\n',
      path: 'channels.ops.url',
      message: /^url must be the http\(s\) incoming-webhook URL$/,
    },
  ])('$name', ({ yaml, path: at, message }) => {
    const issues = issuesOf(parseConfigText(yaml, { file: 'keel.yaml', env: {} }))
    expect(issues.map((issue) => issue.path)).toEqual([at])
    expect(issues[0]?.message).toMatch(message)
  })

  it.each([
    { name: 'a missing file', target: 'missing.yaml', message: 'no such file or directory' },
    {
      name: 'an empty directory',
      target: 'empty',
      message: 'the directory has no *.yaml or *.yml files',
    },
  ])('reports $name as an issue naming the path', async ({ target, message }) => {
    await mkdir(path.join(dir, 'empty'))
    const file = path.join(dir, target)
    expect(issuesOf(await loadConfig(file, {}))).toEqual([{ file, path: '', message }])
  })

  it('loads an empty file as all defaults', async () => {
    await write({ 'keel.yaml': '# nothing yet\n' })
    const { config } = configOf(await loadConfig(path.join(dir, 'keel.yaml'), {}))
    expect(config.store).toEqual({ driver: 'sqlite', path: path.join(dir, 'keel.db') })
    expect(config.monitors).toEqual({})
  })

  it('treats an emptied section as no entries', async () => {
    await write({ 'keel.yaml': 'channels:\nmonitors:\n  # web: ...\n' })
    const { config, raw } = configOf(await loadConfig(path.join(dir, 'keel.yaml'), {}))
    expect(config.monitors).toEqual({})
    expect(config.channels).toEqual({})
    expect(raw).toEqual({ monitors: {}, channels: {} })
  })

  it('reports a top level that is not a map', async () => {
    await write({ 'keel.yaml': '- a\n- b\n' })
    const file = path.join(dir, 'keel.yaml')
    expect(issuesOf(await loadConfig(file, {}))).toEqual([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message:
          'the top level must be a map of sections (server, store, channels, monitors, …), got a list',
      },
    ])
  })

  it('keeps an in-memory store path as it is', () => {
    const { config } = configOf(
      parseConfigText('store: { driver: sqlite, path: ":memory:" }', {
        file: '/etc/keel/keel.yaml',
        env: {},
      }),
    )
    expect(config.store).toEqual({ driver: 'sqlite', path: ':memory:' })
  })

  it('resolves an absolute store path to itself', () => {
    const { config } = configOf(
      parseConfigText('store: { driver: sqlite, path: /var/lib/keel.db }', {
        file: '/etc/keel/keel.yaml',
        env: {},
      }),
    )
    expect(config.store).toEqual({ driver: 'sqlite', path: '/var/lib/keel.db' })
  })
})

describe('YAML syntax errors', () => {
  it.each([
    {
      name: 'an unclosed flow list is reported at its line',
      yaml: 'server:\n  listen: 127.0.0.1:8080\nmonitors: [a,\nchannels: {}\n',
      line: 4,
    },
    {
      name: 'a duplicate key is reported at its second occurrence',
      yaml: 'monitors:\n  web:\n    type: tcp\n  web:\n    type: http\n',
      line: 4,
    },
    { name: 'a tab used for indentation is reported', yaml: 'server:\n\tlisten: x\n', line: 2 },
  ])('$name', ({ yaml, line }) => {
    const issues = issuesOf(parseConfigText(yaml, { file: 'keel.yaml', env: {} }))
    expect(issues.length).toBeGreaterThan(0)
    expect(issues[0]).toMatchObject({ file: 'keel.yaml', line, path: '' })
    expect(issues[0]?.column).toBeGreaterThan(0)
    expect(issues[0]?.message).not.toContain('\n')
  })

  it('names the file with the syntax error among several', async () => {
    await write({ 'a.yaml': 'server: {}\n', 'b.yaml': 'monitors:\n  web: [\n' })
    const issues = issuesOf(await loadConfig(dir, {}))
    expect(new Set(issues.map((issue) => issue.file))).toEqual(new Set([path.join(dir, 'b.yaml')]))
  })
})

describe('environment variables in a config', () => {
  const yaml = [
    'store:',
    '  driver: postgres',
    '  url: ${DATABASE_URL}',
    '  poolSize: ${POOL:-4}',
    'channels:',
    '  ops:',
    '    type: webhook',
    '    url: https://hooks.example/${HOOK_PATH}',
    '    secret: "$${not-a-variable}"',
    '',
  ].join('\n')

  it('expands variables, defaults and $$ in values', () => {
    const { config } = configOf(
      parseConfigText(yaml, {
        file: 'keel.yaml',
        env: { DATABASE_URL: 'postgres://db/keel', HOOK_PATH: 'abc' },
      }),
    )
    expect(config.store).toEqual({ driver: 'postgres', url: 'postgres://db/keel', poolSize: 4 })
    expect(config.channels.ops).toMatchObject({
      url: 'https://hooks.example/abc',
      secret: '${not-a-variable}',
    })
  })

  it('reports every missing variable with its path and line, and nothing that follows from it', () => {
    const issues = issuesOf(parseConfigText(yaml, { file: 'keel.yaml', env: {} }))
    expect(issues).toEqual([
      {
        file: 'keel.yaml',
        line: 3,
        column: 8,
        path: 'store.url',
        message:
          'environment variable `DATABASE_URL` is not set; set it, or give a default as `${DATABASE_URL:-value}`',
      },
      {
        file: 'keel.yaml',
        line: 8,
        column: 10,
        path: 'channels.ops.url',
        message:
          'environment variable `HOOK_PATH` is not set; set it, or give a default as `${HOOK_PATH:-value}`',
      },
    ])
  })

  it('explains how to keep an unquoted number from a variable a string', () => {
    const text =
      'channels:\n  ops:\n    type: email\n    host: h\n    from: a@b.org\n    to: [c@d.org]\n    password: ${PIN}\n'
    const issues = issuesOf(parseConfigText(text, { file: 'keel.yaml', env: { PIN: '1234' } }))
    expect(issues).toEqual([
      {
        file: 'keel.yaml',
        line: 7,
        column: 15,
        path: 'channels.ops.password',
        message:
          'expected a string, got a number; `${PIN}` was written unquoted, so its value was read as YAML; quote it ("${PIN}") to keep a string',
      },
    ])
  })
})

describe('loadConfig from a directory', () => {
  it('merges the YAML files in name order, later keys overriding earlier ones', async () => {
    await write({
      '10-base.yaml': [
        'scheduler: { concurrency: 10, jitter: false }',
        'channels:',
        '  ops: { type: webhook, url: https://ops.example }',
        'monitors:',
        '  web: { type: tcp, host: web, port: 80, interval: 1m }',
        '  db: { type: tcp, host: db, port: 5432 }',
      ].join('\n'),
      '20-override.yml': 'scheduler: { concurrency: 20 }\nmonitors:\n  web: { interval: 30s }\n',
      'monitors/30-more.yaml': 'monitors:\n  cache: { type: tcp, host: cache, port: 6379 }\n',
      '9-last.yaml': 'scheduler: { concurrency: 9 }\n',
      '.hidden.yaml': 'this is: [not loaded\n',
      'README.md': 'not yaml',
    })
    const result = configOf(await loadConfig(dir, {}))
    expect(result.files).toEqual(
      ['10-base.yaml', '20-override.yml', '9-last.yaml', 'monitors/30-more.yaml'].map((f) =>
        path.join(dir, f),
      ),
    )
    // Maps merge key by key: the override keeps `jitter` and the web monitor's host and port.
    expect(result.config.scheduler).toEqual({ concurrency: 9, jitter: false })
    expect(result.config.monitors.web).toMatchObject({ host: 'web', port: 80, interval: 30_000 })
    expect(result.raw.monitors.web).toEqual({ type: 'tcp', host: 'web', port: 80, interval: '30s' })
    expect(Object.keys(result.config.monitors).sort()).toEqual(['cache', 'db', 'web'])
    expect(result.config.store).toEqual({ driver: 'sqlite', path: path.join(dir, 'keel.db') })
    expect(result.sources).toEqual({
      monitors: {
        web: path.join(dir, '20-override.yml'),
        db: path.join(dir, '10-base.yaml'),
        cache: path.join(dir, 'monitors/30-more.yaml'),
      },
      channels: { ops: path.join(dir, '10-base.yaml') },
    })
  })

  it('refuses a __proto__ key without changing prototypes', async () => {
    await write({
      'a.yaml': 'server: {}\n',
      'b.yaml': 'server:\n  __proto__: { polluted: true }\n',
    })
    const issues = issuesOf(await loadConfig(dir, {}))
    expect(issues.map((issue) => issue.path)).toEqual(['server.__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    [
      'a monitor id',
      'monitors:\n  __proto__: { type: http, url: "https://x.example", polluted: yes }\n',
      'monitors.__proto__',
      2,
    ],
    [
      'a channel id',
      'channels:\n  constructor: { type: webhook, url: "https://x.example" }\n',
      'channels.constructor',
      2,
    ],
    [
      'a catalog entity id',
      'catalog:\n  entities:\n    prototype: { kind: service }\n',
      'catalog.entities.prototype',
      3,
    ],
    [
      'a label name',
      'monitors:\n  web:\n    type: http\n    url: "https://x.example"\n    labels: { __proto__: { polluted: yes } }\n',
      'monitors.web.labels.__proto__',
      5,
    ],
    [
      'a key in a list item',
      'users:\n  ann: { role: admin, teams: [{ constructor: 1 }] }\n',
      'users.ann.teams[0].constructor',
      2,
    ],
  ])(
    'refuses %s that is a prototype key, naming the file, path and line',
    async (_name, text, at, line) => {
      await write({ 'a.yaml': 'store: { driver: sqlite, path: keel.db }\n', 'b.yaml': text })
      const issues = issuesOf(await loadConfig(dir, {}))
      expect(issues).toEqual([
        expect.objectContaining({
          file: path.join(dir, 'b.yaml'),
          path: at,
          line,
          message: expect.stringContaining('are reserved; rename it'),
        }),
      ])
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty('type')
    },
  )

  it('replaces lists instead of concatenating them', async () => {
    await write({
      'a.yaml':
        'channels:\n  a: { type: webhook, url: https://a.example }\n  b: { type: webhook, url: https://b.example }\ndefaults: { channels: [a, b] }\n',
      'b.yaml': 'defaults: { channels: [b] }\n',
    })
    expect(configOf(await loadConfig(dir, {})).config.defaults.channels).toEqual(['b'])
  })

  it('reports an issue in the file whose value won the merge', async () => {
    await write({
      'a.yaml': 'monitors:\n  web: { type: tcp, host: web, port: 80, interval: 1m }\n',
      'b.yaml': '# the override\nmonitors:\n  web:\n    interval: 1ms\n',
    })
    expect(issuesOf(await loadConfig(dir, {}))).toEqual([
      {
        file: path.join(dir, 'b.yaml'),
        line: 4,
        column: 15,
        path: 'monitors.web.interval',
        message: 'interval must be ≥ 1s, got 1ms',
      },
    ])
  })

  it('reports issues from several files in file order', async () => {
    await write({
      'a.yaml': 'server: { listen: nope }\n',
      'b.yaml': 'scheduler: { concurrency: 0 }\n',
    })
    const issues = issuesOf(await loadConfig(dir, {}))
    expect(issues.map((issue) => [path.basename(issue.file ?? ''), issue.path])).toEqual([
      ['a.yaml', 'server.listen'],
      ['b.yaml', 'scheduler.concurrency'],
    ])
  })
})

describe('formatIssues', () => {
  it.each([
    {
      name: 'an issue with a place shows file, line, column and path',
      issue: { file: 'keel.yaml', line: 3, column: 5, path: 'server.listen', message: 'bad' },
      text: 'keel.yaml:3:5: server.listen: bad',
    },
    {
      name: 'an issue without a line shows the file',
      issue: { file: 'keel.yaml', path: 'a', message: 'bad' },
      text: 'keel.yaml: a: bad',
    },
    {
      name: 'an issue without a file shows the path',
      issue: { path: 'a.b', message: 'bad' },
      text: 'a.b: bad',
    },
    {
      name: 'an issue about a whole file shows no path',
      issue: { file: 'keel.yaml', path: '', message: 'gone' },
      text: 'keel.yaml: gone',
    },
  ])('$name', ({ issue, text }) => {
    expect(formatIssues([issue])).toBe(text)
  })

  it('puts one issue on each line', () => {
    expect(
      formatIssues([
        { path: 'a', message: 'x' },
        { path: 'b', message: 'y' },
      ]),
    ).toBe('a: x\nb: y')
  })
})

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { requireOrSkip } from '../../test/helpers/require-or-skip.js'
import type { CommandPolicy } from '../checks/command-policy.js'
import { Scheduler, type CheckObservation } from '../engine/scheduler.js'
import { insertMonitor, listMonitors } from '../store/monitors.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { routeTable } from './route-guard.js'

const plugins = '/usr/lib/nagios/plugins'
const hasPlugins = existsSync(`${plugins}/check_dummy`)
if (!hasPlugins) {
  requireOrSkip(
    'monitoring-plugins',
    `${plugins}/check_dummy is missing, so the plugin cases are skipped`,
  )
}

/** A temp tree: an allowed plugin dir, a dir outside it, and scripts that leave marker files. */
async function commandTree() {
  const root = await mkdtemp(join(tmpdir(), 'keel-command-api-'))
  const allowed = join(root, 'plugins')
  const outside = join(root, 'outside')
  await mkdir(allowed)
  await mkdir(outside)
  const ran = join(root, 'ran')
  const pwned = join(root, 'pwned')
  await writeFile(join(allowed, 'check_marker'), `#!/bin/sh\ntouch '${ran}'\necho 'OK: ran'\n`, {
    mode: 0o755,
  })
  await writeFile(
    join(allowed, 'check_long'),
    "#!/bin/sh\nprintf 'OK: first | t=1s\\nsecret long line\\nsecret again | x=2\\n'\n",
    { mode: 0o755 },
  )
  await writeFile(join(outside, 'evil'), `#!/bin/sh\ntouch '${pwned}'\necho 'OK: pwned'\n`, {
    mode: 0o755,
  })
  await symlink(join(outside, 'evil'), join(allowed, 'check_escape'))
  return { root, allowed, outside, ran, pwned, evil: join(outside, 'evil') }
}

/** Starts a scheduler over the harness's store until each of `slugs` was checked once. */
async function checkOnce(
  h: ApiHarness,
  commands: CommandPolicy,
  slugs: string[],
): Promise<Map<string, CheckObservation>> {
  const seen = new Map<string, CheckObservation>()
  let done: () => void = () => undefined
  const all = new Promise<void>((resolve) => (done = resolve))
  const scheduler = new Scheduler({
    db: h.store.db,
    clock: h.clock,
    log: pino({ level: 'silent' }),
    owner: 'command-test',
    jitter: false,
    commands,
    defaultChannels: () => [],
    onCheck: (observation) => {
      seen.set(observation.monitor.slug, observation)
      if (slugs.every((slug) => seen.has(slug))) done()
    },
  })
  await scheduler.start()
  try {
    await all
  } finally {
    await scheduler.stop()
  }
  return seen
}

describe.each(apiStoreKinds)(
  'monitors that run a program, through the API on $name',
  ({ kind }) => {
    let h: ApiHarness
    let tree: Awaited<ReturnType<typeof commandTree>>
    const policy: CommandPolicy = { commandDirs: [] }

    beforeAll(async () => {
      if (kind.skipReason) return
      tree = await commandTree()
      h = await startApiHarness(kind, { commands: policy })
    }, 60_000)
    afterAll(async () => {
      await h?.close()
      if (tree) await rm(tree.root, { recursive: true, force: true })
    })
    beforeEach(async () => {
      if (kind.skipReason) return
      policy.commandDirs = [tree.allowed, plugins]
      await rm(tree.ran, { force: true })
      await rm(tree.pwned, { force: true })
      for (const monitor of await listMonitors(h.store.db)) {
        await h.app.inject({
          method: 'DELETE',
          url: `/api/v1/monitors/${monitor.slug}`,
          headers: h.as('admin'),
        })
      }
    })

    const create = (role: 'operator' | 'admin', body: Record<string, unknown>) =>
      h.app.inject({ method: 'POST', url: '/api/v1/monitors', headers: h.as(role), payload: body })

    it.skipIf(kind.skipReason).each(['operator', 'admin'] as const)(
      'refuses /usr/bin/sqlite3 from an %s, naming the field and the fix',
      async (role) => {
        const response = await create(role, {
          id: 'db-pwn',
          type: 'command',
          command: '/usr/bin/sqlite3',
          args: ['/var/lib/keel/keel.db', 'insert into api_tokens …'],
        })
        expect(response.statusCode).toBe(400)
        const error = response.json().error
        expect(error.message).toBe(
          `monitor \`db-pwn\`: \`command\` /usr/bin/sqlite3 is not under checks.commandDirs (${tree.allowed}, ${plugins}); add the directory to keel.yaml or declare the monitor in keel.yaml`,
        )
        expect(error.details).toEqual([{ path: 'command', message: expect.any(String) }])
        expect(await listMonitors(h.store.db)).toEqual([])
      },
    )

    it.skipIf(kind.skipReason)(
      'refuses every program while keel.yaml lists no directory (the default)',
      async () => {
        policy.commandDirs = []
        const response = await create('admin', {
          id: 'marker',
          type: 'command',
          command: join(tree.allowed, 'check_marker'),
        })
        expect(response.statusCode).toBe(400)
        expect(response.json().error.message).toContain('declared only in keel.yaml')
      },
    )

    it.skipIf(kind.skipReason).each([
      [
        'a symlink inside an allowed dir that points outside',
        () => join(tree.allowed, 'check_escape'),
        'resolves to',
      ],
      ['a path through ..', () => `${tree.allowed}/../outside/evil`, 'must not contain ".."'],
      ['a bare name', () => 'check_marker', 'must be an absolute path'],
    ])('refuses %s', async (_name, command, message) => {
      const response = await create('operator', {
        id: 'escape',
        type: 'command',
        command: command(),
      })
      expect(response.statusCode).toBe(400)
      expect(response.json().error.message).toContain(message)
      expect(await listMonitors(h.store.db)).toEqual([])
    })

    it.skipIf(kind.skipReason)(
      'refuses env that changes what runs and cwd; allows a password variable',
      async () => {
        const command = join(tree.allowed, 'check_marker')
        const refused = await create('operator', {
          id: 'preload',
          type: 'command',
          command,
          env: { LD_PRELOAD: '/tmp/evil.so', PGPASSWORD: 'x' },
          cwd: '/tmp',
        })
        expect(refused.statusCode).toBe(400)
        expect(refused.json().error.details.map((d: { path: string }) => d.path)).toEqual([
          'env.LD_PRELOAD',
          'cwd',
        ])
        const allowed = await create('operator', {
          id: 'password',
          type: 'command',
          command,
          env: { PGPASSWORD: 'x' },
        })
        expect(allowed.statusCode, allowed.body).toBe(201)
      },
    )

    it.skipIf(kind.skipReason || !hasPlugins)(
      `accepts ${plugins}/check_dummy 0 ok and runs it on check now`,
      async () => {
        const created = await create('operator', {
          id: 'dummy',
          type: 'command',
          command: `${plugins}/check_dummy`,
          args: ['0', 'ok'],
        })
        expect(created.statusCode, created.body).toBe(201)
        const checked = await h.app.inject({
          method: 'POST',
          url: '/api/v1/monitors/dummy/check',
          headers: h.as('responder'),
        })
        expect(checked.statusCode).toBe(200)
        expect(checked.json()).toMatchObject({ status: 'up', message: 'OK: ok' })
      },
    )

    it.skipIf(kind.skipReason)(
      'refuses a PUT that swaps in a program outside the directories and keeps the old spec',
      async () => {
        const command = join(tree.allowed, 'check_marker')
        expect(
          (await create('operator', { id: 'swap', type: 'command', command })).statusCode,
        ).toBe(201)
        const replaced = await h.app.inject({
          method: 'PUT',
          url: '/api/v1/monitors/swap',
          headers: h.as('operator'),
          payload: { type: 'command', command: tree.evil },
        })
        expect(replaced.statusCode).toBe(400)
        expect(replaced.json().error.message).toContain('is not under checks.commandDirs')
        const [stored] = await listMonitors(h.store.db)
        expect(stored?.spec.command).toBe(command)
      },
    )

    it.skipIf(kind.skipReason)(
      'after a reload drops its directory, a stored monitor reports down without running, on check now and on schedule',
      async () => {
        const created = await create('operator', {
          id: 'marker',
          type: 'command',
          command: join(tree.allowed, 'check_marker'),
        })
        expect(created.statusCode, created.body).toBe(201)
        const before = await h.app.inject({
          method: 'POST',
          url: '/api/v1/monitors/marker/check',
          headers: h.as('responder'),
        })
        expect(before.json()).toMatchObject({ status: 'up', message: 'OK: ran' })
        expect(existsSync(tree.ran)).toBe(true)
        await rm(tree.ran)

        // What startKeel's reload does with a keel.yaml whose checks.commandDirs lost the dir.
        policy.commandDirs = [plugins]
        const after = await h.app.inject({
          method: 'POST',
          url: '/api/v1/monitors/marker/check',
          headers: h.as('responder'),
        })
        expect(after.json()).toMatchObject({
          status: 'down',
          message: expect.stringMatching(/^not run: `command` .* is not under checks\.commandDirs/),
        })
        const scheduled = await checkOnce(h, policy, ['marker'])
        expect(scheduled.get('marker')?.outcome.message).toMatch(/^not run: /)
        expect(existsSync(tree.ran)).toBe(false)
        const view = await h.app.inject({
          url: '/api/v1/monitors/marker',
          headers: h.as('viewer'),
        })
        expect(view.json()).toMatchObject({
          lastStatus: 'down',
          lastMessage: expect.stringMatching(/^not run: /),
        })
      },
    )

    it.skipIf(kind.skipReason)(
      'runs a monitor stored by the API without validation (an older Keel) only if allowed',
      async () => {
        await insertMonitor(
          h.store.db,
          {
            slug: 'legacy',
            type: 'command',
            spec: { type: 'command', command: tree.evil },
            source: 'api',
            paused: false,
          },
          h.clock.now(),
          h.clock.now(),
        )
        for (const role of ['responder', 'operator', 'admin'] as const) {
          const checked = await h.app.inject({
            method: 'POST',
            url: '/api/v1/monitors/legacy/check',
            headers: h.as(role),
          })
          expect(checked.json()).toMatchObject({
            status: 'down',
            message: expect.stringMatching(/^not run/),
          })
        }
        const scheduled = await checkOnce(h, policy, ['legacy'])
        expect(scheduled.get('legacy')?.outcome.status).toBe('down')
        expect(existsSync(tree.pwned)).toBe(false)
      },
    )

    it.skipIf(kind.skipReason)(
      'shows viewers only the first line and perfdata of a plugin with long output',
      async () => {
        const created = await create('operator', {
          id: 'long',
          type: 'command',
          command: join(tree.allowed, 'check_long'),
        })
        expect(created.statusCode, created.body).toBe(201)
        const checked = await h.app.inject({
          method: 'POST',
          url: '/api/v1/monitors/long/check',
          headers: h.as('responder'),
        })
        expect(checked.json()).toMatchObject({ status: 'up', message: 'OK: first' })
        expect(checked.body).not.toContain('secret')
        await checkOnce(h, policy, ['long'])
        for (const url of ['/api/v1/monitors/long', '/api/v1/monitors/long/results']) {
          const read = await h.app.inject({ url, headers: h.as('viewer') })
          expect(read.statusCode).toBe(200)
          expect(read.body).not.toContain('secret')
        }
        const view = await h.app.inject({ url: '/api/v1/monitors/long', headers: h.as('viewer') })
        expect(view.json().lastMessage).toBe('OK: first')
        const results = await h.app.inject({
          url: '/api/v1/monitors/long/results',
          headers: h.as('viewer'),
        })
        expect(results.json().items[0].metrics.map((m: { label: string }) => m.label)).toEqual([
          't',
          'x',
        ])
      },
    )
  },
)

describe.each(apiStoreKinds)(
  'every route that takes a body, given a command monitor, on $name',
  ({ kind }) => {
    let h: ApiHarness
    let tree: Awaited<ReturnType<typeof commandTree>>

    beforeAll(async () => {
      if (kind.skipReason) return
      tree = await commandTree()
      h = await startApiHarness(kind, { commands: { commandDirs: [tree.allowed] } })
    }, 60_000)
    afterAll(async () => {
      await h?.close()
      if (tree) await rm(tree.root, { recursive: true, force: true })
    })

    /** Each route with a body, its parameters filled so the handler runs for the target monitor. */
    const bodyRoutes = () =>
      routeTable(h.app)
        .filter((route) => ['POST', 'PUT', 'PATCH'].includes(route.method))
        .map((route) => ({
          name: `${route.method} ${route.url}`,
          method: route.method as 'POST',
          url: route.url.replace(/:id\b/g, 'target').replace(/:[A-Za-z]+/g, 'x'),
        }))

    /** A spec in each shape a route might read it: flat, with an id, wrapped as in keel.yaml. */
    const shapes = (spec: Record<string, unknown>, id: string) => [
      { id, ...spec },
      spec,
      { id, spec },
      { monitors: { [id]: spec } },
    ]

    const ensureTarget = async () => {
      const exists = (await listMonitors(h.store.db)).some((m) => m.slug === 'target')
      if (exists) return
      const made = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('admin'),
        payload: { id: 'target', type: 'heartbeat', period: '1h' },
      })
      expect(made.statusCode, made.body).toBe(201)
    }

    it.skipIf(kind.skipReason)(
      'finds the routes that store a monitor spec, and none of them stores a program outside checks.commandDirs, for an admin or an operator',
      async () => {
        // Which routes take a monitor spec is found, not listed: a harmless spec is sent to each.
        const takesSpec = new Set<string>()
        let n = 0
        for (const route of bodyRoutes()) {
          for (const role of ['admin', 'operator'] as const) {
            await ensureTarget()
            const name = `control-${n++}`
            for (const payload of shapes({ type: 'heartbeat', period: '2h', name }, name)) {
              await h.app.inject({ ...route, headers: h.as(role), payload })
            }
            const stored = await listMonitors(h.store.db)
            if (stored.some((m) => m.spec.name === name)) takesSpec.add(route.name)
          }
        }
        expect([...takesSpec].sort()).toEqual(
          expect.arrayContaining(['POST /api/v1/monitors', 'PUT /api/v1/monitors/:id']),
        )

        for (const route of bodyRoutes()) {
          for (const role of ['admin', 'operator'] as const) {
            await ensureTarget()
            for (const payload of shapes({ type: 'command', command: tree.evil }, 'evil')) {
              const response = await h.app.inject({ ...route, headers: h.as(role), payload })
              expect(response.statusCode, `${route.name} as ${role}`).toBeLessThan(500)
            }
            const commandMonitors = (await listMonitors(h.store.db)).filter(
              (m) => m.type === 'command',
            )
            expect(commandMonitors, `${route.name} as ${role}`).toEqual([])
          }
        }
        for (const name of takesSpec) {
          const route = bodyRoutes().find((r) => r.name === name)
          if (!route) continue
          await ensureTarget()
          const response = await h.app.inject({
            ...route,
            headers: h.as('operator'),
            payload: {
              ...(route.method === 'POST' ? { id: 'evil' } : {}),
              type: 'command',
              command: tree.evil,
            },
          })
          expect(response.statusCode, name).toBe(400)
          expect(response.json().error.message, name).toContain('is not under checks.commandDirs')
        }
        // Check now (and every other route) never ran the program.
        expect(existsSync(tree.pwned)).toBe(false)
      },
      120_000,
    )
  },
)

import { Option, type Command } from 'commander'
import { InputError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import { listTokens, revokeToken, roles } from '../services/auth.js'
import type { Actor } from '../services/context.js'
import { linkOidcIdentity, unlinkOidcIdentity } from '../services/oidc.js'
import {
  changeUser,
  createSetupLink,
  createUser,
  listUserViews,
  type SetupLink,
} from '../services/users.js'
import { listAudit, type AuditEvent, type AuditFilter } from '../store/audit.js'
import type { Role } from '../store/auth.js'
import { openStore, type Store } from '../store/dialect.js'
import { formatTable } from './format.js'
import { parseCliInstant } from './incident-commands.js'
import { loadConfigOrThrow } from './start-keel.js'

/** What the user, token and audit commands borrow from `main.ts`. */
export interface AccessCommandDeps {
  configOption(): Option
  out(text: string): void
  clock: Clock
}

function cliActor(): Actor {
  return { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' }
}

async function withConfigStore<T>(
  configPath: string,
  fn: (store: Store, publicUrl: string | undefined) => Promise<T>,
): Promise<T> {
  const loaded = await loadConfigOrThrow(configPath, process.env)
  const store = await openStore(loaded.config.store)
  try {
    return await fn(store, loaded.config.server.publicUrl)
  } finally {
    await store.close()
  }
}

function linkText(link: SetupLink, publicUrl: string | undefined): string {
  const url = publicUrl ? `${publicUrl.replace(/\/$/, '')}${link.path}` : `<Keel URL>${link.path}`
  const note = publicUrl ? '' : '\n(set server.publicUrl in keel.yaml to get a full link)'
  return `One-time setup link for ${link.user} (valid until ${new Date(link.expiresAt).toISOString()}, works once):\n${url}${note}`
}

function parseTeams(values: readonly string[]): { team: string; role: Role }[] {
  return values.map((value) => {
    const [team, role = 'operator'] = value.split(':')
    if (!team || !roles.includes(role as Role)) {
      throw new InputError(
        `--team must be <team>[:<role>] with role one of ${roles.join(', ')}, got ${JSON.stringify(value)}`,
      )
    }
    return { team, role: role as Role }
  })
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function auditLine(event: AuditEvent): string[] {
  return [
    new Date(event.at).toISOString(),
    event.actor,
    event.action,
    `${event.objectType}:${event.objectId}`,
    event.source ?? '-',
  ]
}

/** Adds `keel user …`, `keel token list|revoke` and `keel audit …` to the program. */
export function addAccessCommands(program: Command, deps: AccessCommandDeps): void {
  const { configOption, out, clock } = deps
  const user = program.command('user').description('login users')

  user
    .command('add <id>')
    .description('create a login user and print a one-time link to set the password')
    .addOption(new Option('--role <role>', 'role').choices(roles as string[]).default('viewer'))
    .option('--name <name>', 'display name')
    .option('--email <email>', 'e-mail address')
    .option(
      '--team <team[:role]>',
      'team membership (repeatable); scopes a non-admin user',
      collect,
      [],
    )
    .addOption(configOption())
    .action(
      async (
        id: string,
        options: { role: Role; name?: string; email?: string; team: string[]; config: string },
      ) => {
        await withConfigStore(options.config, async (store, publicUrl) => {
          const ctx = { db: store.db, clock }
          const created = await createUser(ctx, cliActor(), {
            id,
            role: options.role,
            ...(options.name ? { name: options.name } : {}),
            ...(options.email ? { email: options.email } : {}),
            teams: parseTeams(options.team),
          })
          out(`User ${created.id} (${created.role}) created.`)
          out(linkText(await createSetupLink(ctx, cliActor(), id), publicUrl))
        })
      },
    )

  user
    .command('setup-link <id>')
    .description('print a new one-time link for the user to set their password')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withConfigStore(options.config, async (store, publicUrl) => {
        out(linkText(await createSetupLink({ db: store.db, clock }, cliActor(), id), publicUrl))
      })
    })

  user
    .command('link-oidc <id>')
    .description(
      'link an OpenID Connect identity to a user: logins through the provider as --subject act as <id>',
    )
    .requiredOption('--issuer <url>', 'the provider issuer URL, as in keel.yaml auth.oidc.issuer')
    .requiredOption('--subject <sub>', 'the `sub` claim of the person at the provider')
    .addOption(configOption())
    .action(async (id: string, options: { issuer: string; subject: string; config: string }) => {
      await withConfigStore(options.config, async (store) => {
        await linkOidcIdentity({ db: store.db, clock }, cliActor(), id, {
          issuer: options.issuer,
          subject: options.subject,
        })
        out(`User ${id} is linked to ${options.subject} at ${options.issuer}.`)
      })
    })

  user
    .command('unlink-oidc <id>')
    .description("remove a user's OpenID Connect link (ends their sessions)")
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withConfigStore(options.config, async (store) => {
        await unlinkOidcIdentity({ db: store.db, clock }, cliActor(), id)
        out(`User ${id} has no OpenID Connect link now.`)
      })
    })

  user
    .command('list')
    .description('list login users')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      await withConfigStore(options.config, async (store) => {
        const users = await listUserViews({ db: store.db, clock })
        out(
          formatTable(
            ['ID', 'ROLE', 'TEAMS', 'LOGIN', 'DISABLED', 'NAME'],
            users.map((u) => [
              u.id,
              u.role,
              u.teams.map((t) => `${t.team}:${t.role}`).join(',') || '-',
              [u.hasPassword ? 'password' : '', u.oidc ? 'oidc' : ''].filter(Boolean).join('+') ||
                'pending',
              u.disabled ? 'yes' : 'no',
              u.name ?? '',
            ]),
          ),
        )
      })
    })

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(`${name} <id>`)
      .description(`${name} a user${disabled ? ' (ends their sessions)' : ''}`)
      .addOption(configOption())
      .action(async (id: string, options: { config: string }) => {
        await withConfigStore(options.config, async (store) => {
          await changeUser({ db: store.db, clock }, cliActor(), id, { disabled })
          out(`User ${id} ${name}d.`)
        })
      })
  }

  const token = program.commands.find((c) => c.name() === 'token') ?? program.command('token')
  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      await withConfigStore(options.config, async (store) => {
        const tokens = await listTokens({ db: store.db })
        const iso = (at: number | undefined) => (at ? new Date(at).toISOString() : '-')
        out(
          formatTable(
            ['ID', 'NAME', 'ROLE', 'TEAM', 'OWNER', 'EXPIRES', 'LAST USED', 'REVOKED'],
            tokens.map((t) => [
              t.id,
              t.name,
              t.role,
              t.team ?? '-',
              t.owner ?? '-',
              iso(t.expiresAt),
              iso(t.lastUsedAt),
              iso(t.revokedAt),
            ]),
          ),
        )
      })
    })
  token
    .command('revoke <id>')
    .description('revoke an API token')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withConfigStore(options.config, async (store) => {
        await revokeToken({ db: store.db, clock }, id, cliActor())
        out(`Token ${id} revoked.`)
      })
    })

  interface AuditOptions {
    actor?: string
    action?: string
    object?: string
    since?: string
    until?: string
    limit: string
    json?: boolean
    config: string
  }
  const filterOf = (options: AuditOptions): AuditFilter => {
    const now = clock.now()
    const [objectType, ...rest] = options.object?.split(':') ?? []
    const objectId = rest.join(':')
    return {
      ...(options.actor ? { actor: options.actor } : {}),
      ...(options.action ? { action: options.action } : {}),
      ...(objectType ? { objectType } : {}),
      ...(objectId ? { objectId } : {}),
      ...(options.since ? { since: parseCliInstant(options.since, '--since', now) } : {}),
      ...(options.until ? { until: parseCliInstant(options.until, '--until', now) } : {}),
    }
  }
  const auditOptions = (command: Command) =>
    command
      .option('--actor <actor>', 'who acted: user:<id>, token:<name>, system, config, ...')
      .option('--action <action>', 'e.g. monitor.update, session.login')
      .option('--object <type[:id]>', 'e.g. monitor:web or user')
      .option('--since <when>', 'ISO time or a duration back from now (7d)')
      .option('--until <when>', 'ISO time or a duration back from now')
      .addOption(configOption())

  const audit = auditOptions(
    program
      .command('audit')
      .description('show the audit trail, newest first')
      .option('--limit <n>', 'events to show', '50')
      .option('--json', 'one JSON object per line'),
  ).action(async (options: AuditOptions) => {
    const limit = Number(options.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InputError(`--limit must be a whole number from 1 to 10000, got ${options.limit}`)
    }
    await withConfigStore(options.config, async (store) => {
      const events = await listAudit(store.db, { ...filterOf(options), limit })
      if (options.json) {
        for (const event of events) out(JSON.stringify(event))
        return
      }
      out(formatTable(['TIME', 'ACTOR', 'ACTION', 'OBJECT', 'SOURCE'], events.map(auditLine)))
    })
  })

  auditOptions(
    audit
      .command('export')
      .description('write the whole (filtered) audit trail as JSON lines, oldest first'),
  ).action(async (_options: AuditOptions, command: Command) => {
    // Commander gives options the parent `audit` also declares to the parent, wherever they
    // stand on the command line; this command's own copies only hold defaults (for --help).
    const options = { ...command.opts(), ...command.parent?.opts() } as AuditOptions
    await withConfigStore(options.config, async (store) => {
      let afterId: number | undefined
      for (;;) {
        const rows = await listAudit(store.db, {
          ...filterOf(options),
          order: 'asc',
          limit: 1_000,
          ...(afterId !== undefined ? { afterId } : {}),
        })
        for (const row of rows) out(JSON.stringify(row))
        if (rows.length < 1_000) break
        afterId = rows[rows.length - 1]?.id
      }
    })
  })
}

import { createInterface, type Interface } from 'node:readline/promises'
import type { Command, Option } from 'commander'
import { InputError } from '../core/errors.js'
import type { RunPlan } from '../core/runbooks/index.js'
import type { Clock } from '../core/time.js'
import type { ServiceContext } from '../services/context.js'
import {
  approveRunbookRun,
  cancelRunbookRun,
  driveRun,
  getRunbookDetail,
  getRunbookRunDetail,
  listRunbooks,
  localRunDriver,
  recoverOrphanedRuns,
  resumeRunbookRun,
  RunOutputHub,
  startRunbookRun,
  submitRunStep,
  type RunbookSettings,
} from '../services/runbooks.js'
import { openStore, type Store } from '../store/dialect.js'
import type { StoredRunbookRun } from '../store/runbooks.js'
import { formatTable } from './format.js'
import { loadConfigOrThrow, useStoreSecrets } from './start-keel.js'

/** What the runbook commands borrow from `main.ts`. */
export interface RunbookCommandDeps {
  configOption(): Option
  out(text: string): void
  clock: Clock
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** Parses `--param NAME=value` options; the value may contain anything, `=` included. */
export function parseParamOptions(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) {
      throw new InputError(
        `--param must be NAME=value (e.g. --param MOUNT=/var), got ${JSON.stringify(pair)}`,
      )
    }
    params[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return params
}

function formatPlan(plan: RunPlan): string {
  const lines = [
    `Dry run of ${plan.runbook}: nothing is executed.${plan.needsApproval ? ' A real run waits for a second person to approve (dangerous steps).' : ''}`,
    `Parameters: ${Object.keys(plan.parameters).length === 0 ? '(none)' : ''}`,
    ...Object.entries(plan.parameters).map(([k, v]) => `  ${k}=${JSON.stringify(v)}`),
  ]
  for (const step of plan.steps) {
    lines.push(
      '',
      `[${step.id}] ${step.title} (${step.kind}${step.dangerous ? ', DANGEROUS' : ''}) → ${step.next.join(' | ')}`,
    )
    if (step.command) {
      lines.push(`  ${step.command.shell} -c <<script (timeout ${step.command.timeoutMs} ms)`)
      lines.push(
        ...step.command.script
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`),
      )
      lines.push('  environment (in addition to PATH, HOME, LANG, LC_ALL, TMPDIR):')
      lines.push(
        ...Object.entries(step.command.env).map(([k, v]) => `    ${k}=${JSON.stringify(v)}`),
      )
    }
    if (step.http) {
      lines.push(`  ${step.http.method} ${step.http.url}`)
      for (const [k, v] of Object.entries(step.http.headers)) lines.push(`    ${k}: ${v}`)
      if (step.http.body !== undefined) lines.push(`    body: ${step.http.body}`)
    }
    if (step.problem) lines.push(`  cannot run: ${step.problem}`)
    if (step.question) {
      lines.push(`  ? ${step.question}`)
      step.answers?.forEach((a, i) => lines.push(`    ${i + 1}. ${a.label} → ${a.next}`))
    }
    for (const item of step.items ?? []) lines.push(`  [ ] ${item}`)
    if (step.runbook) lines.push(`  see runbook ${step.runbook}`)
  }
  return lines.join('\n')
}

async function withRunbooks<T>(
  configPath: string,
  fn: (store: Store, settings: RunbookSettings) => Promise<T>,
): Promise<T> {
  const loaded = await loadConfigOrThrow(configPath, process.env)
  const store = await openStore(loaded.config.store)
  try {
    // Secret parameters are sealed and opened with the same key as `keel serve` uses.
    await useStoreSecrets(store, loaded.config, configPath, process.env)
    return await fn(store, {
      paths: loaded.config.runbooks.paths,
      hub: new RunOutputHub(),
      // Its lease names the CLI, so a node sees at once when this process is gone.
      driver: localRunDriver(`cli:${process.env.USER ?? 'unknown'}`),
    })
  } finally {
    await store.close()
  }
}

/** Asks a question on the terminal; undefined when input has ended. */
async function ask(
  rl: Interface,
  closed: Promise<void>,
  question: string,
): Promise<string | undefined> {
  return Promise.race([rl.question(question), closed.then(() => undefined)])
}

/**
 * Follows a run on the terminal: prints output as it comes and asks the person at each checklist,
 * link or decision, until the run finishes, waits for approval, or input ends.
 */
async function follow(
  ctx: ServiceContext,
  settings: RunbookSettings,
  first: Promise<StoredRunbookRun>,
  out: (text: string) => void,
): Promise<StoredRunbookRun> {
  let run = await first
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false })
  const closed = new Promise<void>((resolve) => rl.once('close', resolve))
  try {
    while (run.status === 'running') {
      const detail = await getRunbookRunDetail(ctx, run.id)
      const step = detail.current
      if (!step || step.kind === 'command' || step.kind === 'http') break
      out(`\n== [${step.id}] ${step.title}`)
      let input: { note?: string; answer?: string }
      if (step.kind === 'decision') {
        out(`? ${step.question}`)
        step.answers.forEach((a, i) => out(`  ${i + 1}. ${a.label}`))
        const answer = await ask(rl, closed, 'answer (number or label): ')
        if (answer === undefined) break
        input = { answer }
      } else {
        if (step.kind === 'checklist') for (const item of step.items) out(`  [ ] ${item}`)
        if (step.kind === 'link')
          out(`  follow runbook ${step.runbook}${step.note ? `: ${step.note}` : ''}`)
        const note = await ask(rl, closed, 'press Enter when done (or type a note first): ')
        if (note === undefined) break
        input = note.trim() === '' ? {} : { note: note.trim() }
      }
      try {
        run = await (await submitRunStep(ctx, settings, run.id, step.id, input)).settled
      } catch (error) {
        out(`keel: ${(error as Error).message}`)
      }
    }
  } finally {
    rl.close()
  }
  return run
}

function report(run: StoredRunbookRun, out: (text: string) => void): void {
  if (run.status === 'pendingApproval') {
    out(
      `\nRun ${run.id} waits for approval: it has dangerous steps. Another person approves it with`,
    )
    out(`  keel runbook approve ${run.id}`)
  } else if (run.status === 'running') {
    out(
      `\nRun ${run.id} waits at step ${run.currentStep ?? '-'}; continue with keel runbook resume ${run.id}`,
    )
  } else if (run.status === 'interrupted') {
    out(`\nRun ${run.id} was interrupted at step ${run.currentStep ?? '-'}: ${run.reason ?? ''}`)
    out(`  keel runbook resume ${run.id} --from next    (or --from retry to run the step again)`)
    process.exitCode = 1
  } else {
    out(`\nRun ${run.id} ${run.status}${run.reason ? `: ${run.reason}` : ''}`)
  }
  if (run.status === 'failed' || run.status === 'cancelled') process.exitCode = 1
}

/** `keel runbook list|show|run|approve|resume`, on the store and runbook folders of `--config`. */
export function addRunbookCommands(program: Command, deps: RunbookCommandDeps): void {
  const { out, configOption, clock } = deps
  const context = (store: Store): ServiceContext => ({
    db: store.db,
    clock,
    actor: { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' },
  })
  const live = (settings: RunbookSettings) =>
    settings.hub.subscribeAll((event) => {
      if (event.type === 'output') process.stdout.write(event.chunk)
      else if (event.type === 'step' && event.status === 'running')
        out(`\n== [${event.step}] running`)
      else if (event.type === 'step')
        out(`-- [${event.step}] ${event.status}${event.summary ? `: ${event.summary}` : ''}`)
    })

  const runbook = program.command('runbook').description('runbooks: list, show, run')

  runbook
    .command('list')
    .description('the runbooks in the folders keel.yaml names under runbooks.paths')
    .addOption(configOption())
    .option('--role <role>', 'only runbooks for this role (front matter roles)')
    .option('--entity <entity>', 'only runbooks about this entity')
    .option(
      '--label <name=value>',
      'alert labels the runbook must answer (repeatable)',
      collect,
      [],
    )
    .action(
      async (options: { config: string; role?: string; entity?: string; label: string[] }) => {
        const loaded = await loadConfigOrThrow(options.config, process.env)
        const labels = options.label.length > 0 ? parseParamOptions(options.label) : undefined
        const entityKind = options.entity
          ? loaded.config.catalog.entities[options.entity]?.kind
          : undefined
        const { runbooks, issues } = await listRunbooks(
          { paths: loaded.config.runbooks.paths, hub: new RunOutputHub() },
          {
            ...(options.role ? { role: options.role } : {}),
            ...(options.entity ? { entity: options.entity } : {}),
            ...(entityKind ? { entityKind } : {}),
            ...(labels ? { labels } : {}),
          },
        )
        out(
          formatTable(
            ['NAME', 'TITLE', 'ROLES', 'STEPS', 'RUN ROLE', 'APPROVAL'],
            runbooks.map((r) => [
              r.name,
              r.title,
              r.roles.join(',') || '-',
              String(r.steps),
              r.runRole,
              r.needsApproval ? `${r.approveRole}+` : '-',
            ]),
          ),
        )
        for (const issue of issues) {
          process.stderr.write(
            `${issue.file}${issue.line ? `:${issue.line}` : ''}: ${issue.message}\n`,
          )
        }
        if (issues.length > 0) process.exitCode = 1
      },
    )

  runbook
    .command('show <name>')
    .description('a runbook: its document, parameters and steps')
    .addOption(configOption())
    .action(async (name: string, options: { config: string }) => {
      const loaded = await loadConfigOrThrow(options.config, process.env)
      const detail = await getRunbookDetail(
        { paths: loaded.config.runbooks.paths, hub: new RunOutputHub() },
        name,
      )
      out(`${detail.title} (${detail.name})`)
      out(
        `run role: ${detail.runRole}; ${detail.needsApproval ? `dangerous steps need a second person (${detail.approveRole}+)` : 'no approval needed'}`,
      )
      if (detail.alerts.length > 0) out(`answers alerts: ${detail.alerts.join(' or ')}`)
      for (const p of detail.parameters) {
        out(
          `  --param ${p.name}=<${p.type === 'enum' ? (p.values ?? []).join('|') : p.type}>${p.required ? ' (required)' : ''}${p.default !== undefined ? ` [default ${String(p.default)}]` : ''}${p.description ? `  ${p.description}` : ''}`,
        )
      }
      out('')
      out(detail.markdown.trim())
    })

  runbook
    .command('run <name>')
    .description('run a runbook here, printing output as it comes and asking at manual steps')
    .addOption(configOption())
    .option(
      '-p, --param <name=value>',
      'a parameter (repeatable); passed as an environment variable',
      collect,
      [],
    )
    .option('--dry-run', 'show exactly what would run, and run nothing')
    .option('--incident <number>', 'attach the run to this incident’s timeline')
    .action(
      async (
        name: string,
        options: { config: string; param: string[]; dryRun?: boolean; incident?: string },
      ) => {
        const params = parseParamOptions(options.param)
        await withRunbooks(options.config, async (store, settings) => {
          const ctx = context(store)
          const unsubscribe = live(settings)
          try {
            const result = await startRunbookRun(ctx, settings, name, {
              params,
              dryRun: options.dryRun === true,
              ...(options.incident !== undefined ? { incidentId: options.incident } : {}),
            })
            if (result.dryRun) {
              out(formatPlan(result.plan))
              return
            }
            out(`Run ${result.run.id} of ${name} started`)
            report(await follow(ctx, settings, result.settled, out), out)
          } finally {
            unsubscribe()
          }
        })
      },
    )

  runbook
    .command('approve <run>')
    .description('approve a run that waits for a second person, then follow it')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withRunbooks(options.config, async (store, settings) => {
        const ctx = context(store)
        const unsubscribe = live(settings)
        try {
          const approved = await approveRunbookRun(ctx, settings, id)
          out(`Run ${approved.run.id} approved`)
          report(await follow(ctx, settings, approved.settled, out), out)
        } finally {
          unsubscribe()
        }
      })
    })

  runbook
    .command('resume <run>')
    .description(
      'continue a run that waits at a manual step, or one a crash interrupted (--from next|retry)',
    )
    .addOption(configOption())
    .option(
      '--from <where>',
      'an interrupted run: next (the step after the interrupted one) or retry (that step again)',
    )
    .action(async (id: string, options: { config: string; from?: string }) => {
      await withRunbooks(options.config, async (store, settings) => {
        const ctx = context(store)
        const unsubscribe = live(settings)
        try {
          // A run whose driver died (a killed `keel runbook run`, a node) is found here too.
          await recoverOrphanedRuns({ db: store.db, clock }, settings)
          const detail = await getRunbookRunDetail(ctx, id)
          if (detail.status === 'interrupted') {
            if (options.from === undefined) {
              throw new InputError(
                `run ${detail.id} was interrupted at step ${detail.currentStep ?? '-'}; say where to go on: --from next (skip it) or --from retry (run it again)`,
              )
            }
            const resumed = await resumeRunbookRun(ctx, settings, detail.id, {
              from: options.from,
            })
            out(`Run ${detail.id} resumed`)
            report(await follow(ctx, settings, resumed.settled, out), out)
            return
          }
          report(await follow(ctx, settings, driveRun(ctx, settings, detail.id), out), out)
        } finally {
          unsubscribe()
        }
      })
    })

  runbook
    .command('cancel <run>')
    .description('cancel a run; the command it runs is killed with its whole process group')
    .addOption(configOption())
    .option('--reason <text>', 'why, for the record')
    .action(async (id: string, options: { config: string; reason?: string }) => {
      await withRunbooks(options.config, async (store, settings) => {
        const run = await cancelRunbookRun(context(store), id, options.reason, settings)
        out(`Run ${run.id} cancelled${run.reason ? `: ${run.reason}` : ''}`)
      })
    })
}

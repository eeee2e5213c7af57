import { readFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import { entityKinds, type EntityKind } from '../core/catalog/index.js'
import { InputError } from '../core/errors.js'
import type { Clock } from '../core/time.js'
import {
  catalogDiagram,
  catalogImpact,
  getCatalogEntity,
  importBackstageFile,
  listCatalog,
} from '../services/catalog.js'
import type { ServiceContext } from '../services/context.js'
import type { Store } from '../store/dialect.js'
import { formatTable } from './format.js'

/** What the catalog commands borrow from `main.ts`. */
export interface CatalogCommandDeps {
  configOption(): Option
  withStore<T>(configPath: string, fn: (store: Store) => Promise<T>): Promise<T>
  out(text: string): void
  clock: Clock
}

function parseDepth(value: string): number {
  const depth = Number(value)
  if (!Number.isInteger(depth) || depth < 1 || depth > 5) {
    throw new InputError(`--depth must be a whole number from 1 to 5, got ${JSON.stringify(value)}`)
  }
  return depth
}

/** Adds `keel impact <entity>` and `keel catalog list|show|import|diagram`. */
export function addCatalogCommands(program: Command, deps: CatalogCommandDeps): void {
  const { configOption, withStore, out } = deps
  const context = (store: Store): ServiceContext => ({
    db: store.db,
    clock: deps.clock,
    actor: { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' },
  })

  program
    .command('impact')
    .description('what is affected if an entity is down: everything that depends on it')
    .argument('<entity>', 'catalog entity id, such as db-main')
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (id: string, options: { config: string; json?: boolean }) => {
      await withStore(options.config, async (store) => {
        const impact = await catalogImpact(context(store), id)
        if (options.json) {
          out(JSON.stringify(impact, null, 2))
          return
        }
        if (impact.affected.length === 0) {
          out(`Nothing in the catalog depends on ${id}.`)
          return
        }
        out(`If ${id} is down, ${impact.affected.length} entities are affected:\n`)
        out(
          formatTable(
            ['ENTITY', 'KIND', 'HEALTH', 'DEPTH', 'PATH'],
            impact.affected.map((a) => [
              a.id,
              a.kind,
              a.health.toUpperCase(),
              String(a.depth),
              [...a.path].reverse().join(' → '),
            ]),
          ),
        )
      })
    })

  const catalog = program
    .command('catalog')
    .description('the service catalog: entities, their dependencies and health')

  catalog
    .command('list')
    .description('a table of catalog entities and their health')
    .addOption(configOption())
    .addOption(new Option('--kind <kind>', 'only this kind').choices(entityKinds))
    .option('--owner <team>', 'only entities this team owns')
    .option('--json', 'print JSON')
    .action(
      async (options: { config: string; kind?: EntityKind; owner?: string; json?: boolean }) => {
        await withStore(options.config, async (store) => {
          const entities = await listCatalog(context(store), {
            ...(options.kind ? { kind: options.kind } : {}),
            ...(options.owner ? { owner: options.owner } : {}),
            limit: 100_000,
          })
          if (options.json) {
            out(JSON.stringify(entities, null, 2))
            return
          }
          out(
            formatTable(
              ['ENTITY', 'KIND', 'OWNER', 'TIER', 'HEALTH', 'DEPENDS ON', 'SOURCE'],
              entities.map((e) => [
                e.id,
                e.kind,
                e.owner ?? '-',
                e.tier === undefined ? '-' : String(e.tier),
                e.health.toUpperCase(),
                e.dependsOn.join(', ') || '-',
                e.source,
              ]),
            ),
          )
          out(`\n${entities.length} entities`)
        })
      },
    )

  catalog
    .command('show')
    .description('one entity: its fields, monitors, dependencies and dependents')
    .argument('<entity>', 'catalog entity id')
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (id: string, options: { config: string; json?: boolean }) => {
      await withStore(options.config, async (store) => {
        const entity = await getCatalogEntity(context(store), id)
        if (options.json) {
          out(JSON.stringify(entity, null, 2))
          return
        }
        const lines = [
          `${entity.name ?? entity.id} (${entity.id}): ${entity.kind}, ${entity.health.toUpperCase()}`,
          ...(entity.description ? [`  ${entity.description}`] : []),
          `  owner:      ${entity.owner ?? '-'}`,
          `  tier:       ${entity.tier ?? '-'}`,
          `  lifecycle:  ${entity.lifecycle ?? '-'}`,
          `  source:     ${entity.source}${entity.editable ? '' : ' (read-only: change it there)'}`,
          `  depends on: ${entity.dependencies.map((d) => `${d.id} (${d.health})`).join(', ') || '-'}`,
          `  needed by:  ${entity.dependents.map((d) => `${d.id} (${d.health})`).join(', ') || '-'}`,
          `  monitors:   ${entity.monitors.map((m) => `${m.id} (${m.state})`).join(', ') || '- (label monitors entity=' + entity.id + ')'}`,
          ...(entity.runbooks.length > 0 ? [`  runbooks:   ${entity.runbooks.join(', ')}`] : []),
          ...entity.links.map((l) => `  link:       ${l.title ? `${l.title}: ` : ''}${l.url}`),
        ]
        out(lines.join('\n'))
      })
    })

  catalog
    .command('diagram')
    .description("print an entity's neighbourhood as Mermaid text or SVG")
    .argument('<entity>', 'catalog entity id')
    .addOption(configOption())
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['mermaid', 'svg'])
        .default('mermaid'),
    )
    .option('--depth <n>', 'links to follow each way (1-5)', '2')
    .action(
      async (id: string, options: { config: string; format: 'mermaid' | 'svg'; depth: string }) => {
        await withStore(options.config, async (store) => {
          const text = await catalogDiagram(context(store), id, {
            depth: parseDepth(options.depth),
            format: options.format,
          })
          process.stdout.write(text)
        })
      },
    )

  catalog
    .command('import')
    .description('import a Backstage catalog-info.yaml into the store (editable like API entities)')
    .argument('<file>', 'a catalog-info.yaml file, unchanged from its repository')
    .addOption(configOption())
    .option('--dry-run', 'show what would change and change nothing')
    .action(async (file: string, options: { config: string; dryRun?: boolean }) => {
      const text = await readFile(file, 'utf8').catch((error: unknown) => {
        throw new InputError(
          `cannot read ${file}: ${(error as { code?: string }).code === 'ENOENT' ? 'no such file' : String(error)}`,
        )
      })
      await withStore(options.config, async (store) => {
        const result = await importBackstageFile(context(store), text, file, {
          ...(options.dryRun ? { dryRun: true } : {}),
        })
        const lines = [
          ...result.create.map((id) => `+ catalog entity ${id}`),
          ...result.update.map((id) => `~ catalog entity ${id}`),
          ...result.skipped.map(
            (id) => `  catalog entity ${id}: defined in a config file, left as it is`,
          ),
          ...result.warnings.map((w) => `warning: ${w}`),
          `${result.create.length} to create, ${result.update.length} to update, ${result.unchanged.length} unchanged.`,
        ]
        if (options.dryRun) lines.push('Dry run: nothing was changed.')
        out(lines.join('\n'))
      })
    })
}

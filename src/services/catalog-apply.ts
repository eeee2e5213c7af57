import { planChanges, type Plan } from '../core/config/index.js'
import type { EntitySpec } from '../core/catalog/index.js'
import { deleteEntity, listAllEntities, upsertEntity } from '../store/catalog.js'
import type { Executor } from '../store/dialect.js'

type Spec = Record<string, unknown>

/** The catalog part of a desired state: entity specs by id and the file each came from. */
export interface DesiredCatalog {
  entities: Record<string, Spec>
  sources: Record<string, string>
}

const filePrefix = 'file:'

/**
 * Plans the catalog part of `keel apply`: entities from files, and API-made ones the config now
 * names (the file takes them over), are created, updated or deleted to match; entities made over
 * the API or by `keel catalog import` that the config does not name are left alone. A changed
 * source file alone is an update too.
 */
export async function planCatalogApply(db: Executor, desired: DesiredCatalog): Promise<Plan<Spec>> {
  const owned = (await listAllEntities(db)).filter(
    (e) => e.source.startsWith(filePrefix) || Object.hasOwn(desired.entities, e.id),
  )
  const current = Object.fromEntries(
    owned.map(({ id, source: _s, createdAt: _c, updatedAt: _u, ...spec }) => [id, spec as Spec]),
  )
  const plan = planChanges(current, desired.entities, { prune: true })
  const sources = new Map(owned.map((e) => [e.id, e.source]))
  const update = [...plan.update]
  const unchanged: string[] = []
  for (const id of plan.unchanged) {
    const before = sources.get(id)
    const after = `${filePrefix}${desired.sources[id]}`
    if (before !== after) {
      const spec = current[id] as Spec
      update.push({ id, before: spec, after: spec, fields: [{ path: 'source', before, after }] })
    } else unchanged.push(id)
  }
  update.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { ...plan, update, unchanged }
}

/** Carries out a catalog plan inside the apply transaction, auditing each change. */
export async function executeCatalogApply(
  trx: Executor,
  plan: Plan<Spec>,
  desired: DesiredCatalog,
  now: number,
  audit: (action: string, objectType: string, objectId: string, details: unknown) => Promise<void>,
): Promise<void> {
  for (const { id } of [...plan.create, ...plan.update]) {
    await upsertEntity(
      trx,
      {
        id,
        spec: desired.entities[id] as unknown as EntitySpec,
        source: `${filePrefix}${desired.sources[id]}`,
      },
      now,
    )
    await audit('catalog.apply', 'catalog-entity', id, {})
  }
  for (const { id } of plan.delete) {
    await deleteEntity(trx, id)
    await audit('catalog.delete', 'catalog-entity', id, {})
  }
}

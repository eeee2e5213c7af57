/** Row types of the catalog tables (added by migration 0006). */
export interface CatalogTables {
  catalog_entities: CatalogEntityRow
}

export interface CatalogEntityRow {
  id: string
  kind: string
  /** The display name: the spec's `name`, else the id. */
  name: string
  owner: string | null
  tier: number | null
  lifecycle: string | null
  system: string | null
  /** JSON of the entity spec (without the id). */
  spec: string
  /** `file:<path>` when keel.yaml or an imported catalog file defines it, `api` otherwise. */
  source: string
  created_at: number
  updated_at: number
}

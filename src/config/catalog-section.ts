import { z } from 'zod'
import { entityIdSchema, entitySpecSchema } from '../core/catalog/index.js'

/** The `catalog:` section of keel.yaml: entities keyed by id, and Backstage files to import. */
export const catalogSectionSchema = z
  .object({
    entities: z
      .record(entityIdSchema, entitySpecSchema)
      .default({})
      .describe('Services, databases, hosts and other things operated, keyed by id.'),
    imports: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Backstage catalog-info.yaml files or globs (`services/**/catalog-info.yaml`), relative to the config file.',
      ),
  })
  .strict()

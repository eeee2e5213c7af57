import fc from 'fast-check'

/**
 * Property tests in `npm test` draw from one fixed seed, so a run is reproducible and CI does not
 * turn red on an input nobody can replay. Exploration is what `npm run fuzz` is for: it sets
 * FUZZ_RUNS and then every run draws a fresh seed (fast-check prints it with any failure).
 * FAST_CHECK_SEED picks another seed for `npm test`, e.g. to replay one from a failure.
 */
const explicit = process.env.FAST_CHECK_SEED
if (explicit !== undefined && explicit !== '') fc.configureGlobal({ seed: Number(explicit) })
else if (process.env.FUZZ_RUNS === undefined) fc.configureGlobal({ seed: 20_261_206 })

/**
 * The seed for chunk `index` of a property run in several `fc.assert` calls: distinct per chunk
 * under the fixed seed (else every chunk would replay the first one's inputs), and undefined,
 * so fresh, when exploring.
 */
export function chunkSeed(index: number): number | undefined {
  const seed = fc.readConfigureGlobal().seed
  return seed === undefined ? undefined : (seed + index * 7_919) | 0
}

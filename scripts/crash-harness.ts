// `npm run test:crash`: the full crash-safety run (CRASH_KILLS, default 50 per store) on SQLite,
// and on PostgreSQL when KEEL_TEST_POSTGRES_URL is set. Prints one table per store.
import { formatCrashReport, runCrashHarness } from '../test/crash/harness.js'

const kills = Number(process.env.CRASH_KILLS ?? 50)
const stores: ('sqlite' | 'postgres')[] = process.env.KEEL_TEST_POSTGRES_URL
  ? ['sqlite', 'postgres']
  : ['sqlite']
if (!process.env.KEEL_TEST_POSTGRES_URL) {
  console.warn('KEEL_TEST_POSTGRES_URL is not set: running on SQLite only')
}
let failed = false
for (const store of stores) {
  console.log(`\n== crash harness on ${store}: ${kills} SIGKILLs ==`)
  const report = await runCrashHarness({ store, kills, log: (line) => console.log(line) })
  console.log(`\n${formatCrashReport(report)}`)
  if (report.problems.length > 0) failed = true
}
process.exitCode = failed ? 1 : 0

import { describe, expect, it } from 'vitest'
import { formatCrashReport, runCrashHarness } from './crash/harness.js'
import { storeKinds } from './helpers/stores.js'

// CI runs a bounded number of kills; `npm run test:crash` runs the full 50 per store.
const kills = Number(process.env.CRASH_KILLS ?? 8)

describe.each(storeKinds)('crash safety on $name', (kind) => {
  it.skipIf(kind.skipReason !== undefined)(
    `loses nothing acknowledged across ${kills} SIGKILLs under load`,
    async () => {
      const report = await runCrashHarness({ store: kind.name, kills })
      console.log(formatCrashReport(report))
      expect(report.problems).toEqual([])
      expect(report.pingsLost).toBe(0)
      expect(report.eventsLost).toBe(0)
      expect(report.notificationsMissing).toBe(0)
      expect(report.stepsFired).toBe(report.stepsExpected)
      expect(report.eventsEscalated).toBe(report.eventsAccepted)
      expect(report.escalationsComplete).toBe(report.escalations)
      expect(report.pagesDelivered).toBe(report.pagesExpected)
      expect(report.pagesExpected).toBe(report.escalations * 3)
      expect(report.transitionsNotifying).toBeGreaterThan(0)
      expect(report.transitionsNotified).toBe(report.transitionsNotifying)
    },
    1_200_000,
  )
})

import { describe, expect, it } from 'vitest'
import * as alerts from './index.js'

describe('the alerts domain index', () => {
  it('exports exactly the alert functions and schemas other code may use', () => {
    expect(Object.keys(alerts).sort()).toEqual([
      'activeMaintenance',
      'alertForTransition',
      'createMatcher',
      'defaultRouteTiming',
      'fingerprint',
      'formatMatcher',
      'formatMatchers',
      'groupKey',
      'groupLabels',
      'inhibitRuleSchema',
      'inhibitedBy',
      'isInMaintenance',
      'isInTimeInterval',
      'isInhibited',
      'isRouteMuted',
      'isSilenced',
      'maintenanceState',
      'maintenanceWindowSchema',
      'matchRoutes',
      'matchersSchema',
      'matchesAll',
      'matchesValue',
      'nextMaintenanceChange',
      'nextSilenceChange',
      'openGroup',
      'parseMatcher',
      'parseMatchers',
      'planGroupNotification',
      'recordGroupFlush',
      'routeSchema',
      'routeTimeIntervalIssues',
      'routeTreeSchema',
      'silenceSchema',
      'silenceState',
      'silencedBy',
      'silencesExpiringSoon',
      'timeIntervalSchema',
      'timeIntervalsSchema',
      'upsertGroupAlert',
      'weekdays',
    ])
  })
})

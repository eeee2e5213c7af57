import { describe, expect, it } from 'vitest'
import * as oncall from './index.js'

describe('the oncall domain index', () => {
  it('exports exactly the schedule functions and schemas other domains may use', () => {
    expect(Object.keys(oncall).sort()).toEqual([
      'finalSchedule',
      'layerSchema',
      'nextHandoff',
      'overrideSchema',
      'restrictionSchema',
      'rotationSchema',
      'scheduleGaps',
      'scheduleSchema',
      'scheduleToICal',
      'timeZoneSchema',
      'whoIsOnCall',
    ])
  })
})

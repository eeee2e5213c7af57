import { describe, expect, it } from 'vitest'
import * as incidents from './index.js'

describe('the incidents domain index', () => {
  it('exports exactly the incident functions and constants other domains may use', () => {
    expect(Object.keys(incidents).sort()).toEqual([
      'applyIncidentEvent',
      'defaultIncidentGroupBy',
      'incidentGroupKey',
      'incidentMetrics',
      'incidentRoleNames',
      'incidentSeverities',
      'incidentStatuses',
      'isMoreSevere',
      'noGroup',
      'openIncident',
      'postmortemDraft',
      'severityFromLabel',
    ])
  })

  it.each([
    ['critical', 'critical'],
    ['P2', 'error'],
    [' Warning ', 'warning'],
    ['low', 'info'],
    ['something-new', 'critical'],
    [undefined, 'critical'],
  ] as const)('reads severity label %j as %s', (label, severity) => {
    expect(incidents.severityFromLabel(label)).toBe(severity)
  })
})

import { describe, expect, it } from 'vitest'
import type { Labels } from '../alerts/index.js'
import { incidentGroupKey } from './group-key.js'

interface Case {
  name: string
  labels: Labels
  groupBy: string[] | undefined
  key: string
}

describe('incidentGroupKey', () => {
  it.each<Case>([
    {
      name: 'groups by service by default',
      labels: { service: 'db-main', alertname: 'DiskFull', instance: 'db1' },
      groupBy: undefined,
      key: 'service="db-main"',
    },
    {
      name: 'falls back to alertname and monitor without a service',
      labels: { alertname: 'MonitorUnhealthy', monitor: 'web', severity: 'critical' },
      groupBy: undefined,
      key: 'alertname="MonitorUnhealthy",monitor="web"',
    },
    {
      name: 'falls back to alertname alone for an external alert',
      labels: { alertname: 'HighLatency', instance: 'a:9100' },
      groupBy: undefined,
      key: 'alertname="HighLatency"',
    },
    {
      name: 'falls back to every label when nothing else names the alert',
      labels: { b: '2', a: '1' },
      groupBy: undefined,
      key: 'a="1",b="2"',
    },
    {
      name: 'uses every group-by label in the order given',
      labels: { team: 'dba', service: 'db-main', alertname: 'X' },
      groupBy: ['team', 'service'],
      key: 'team="dba",service="db-main"',
    },
    {
      name: 'falls back when one group-by label is missing',
      labels: { team: 'dba', alertname: 'X' },
      groupBy: ['team', 'service'],
      key: 'alertname="X"',
    },
    {
      name: 'treats an empty value as missing, as Alertmanager does',
      labels: { service: '', alertname: 'X' },
      groupBy: undefined,
      key: 'alertname="X"',
    },
    {
      name: 'quotes values so a comma cannot forge another key',
      labels: { service: 'a",monitor="b' },
      groupBy: undefined,
      key: 'service="a\\",monitor=\\"b"',
    },
  ])('$name', ({ labels, groupBy, key }) => {
    expect(incidentGroupKey(labels, groupBy)).toBe(key)
  })
})

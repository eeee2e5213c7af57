import { describe, expect, it } from 'vitest'
import {
  exitCodeState,
  exitCodeStatus,
  parsePerfdata,
  parsePluginOutput,
  type PluginOutput,
} from './perfdata.js'
import type { CheckStatus } from './types.js'

// Output lines captured from Debian's monitoring-plugins, plus the guidelines' own example.
const diskMultiline = [
  'DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968',
  '/ 15272 MB (77%);',
  '/boot 68 MB (69%);',
  '/home 69357 MB (27%);',
  '/var/log 819 MB (84%); | /boot=68MB;88;93;0;98',
  '/home=69357MB;253404;253409;0;253414',
  '/var/log=818MB;970;975;0;980',
].join('\n')

describe('parsePluginOutput', () => {
  it.each<[string, string, Partial<PluginOutput>]>([
    [
      'check_load with trailing semicolons and a trailing space',
      'LOAD OK - total load average: 3.67, 2.13, 1.06|load1=3.670;5.000;10.000;0; load5=2.130;4.000;8.000;0; load15=1.060;3.000;6.000;0; \n',
      {
        text: 'LOAD OK - total load average: 3.67, 2.13, 1.06',
        longText: [],
        metrics: [
          { label: 'load1', value: 3.67, warn: '5.000', crit: '10.000', min: 0 },
          { label: 'load5', value: 2.13, warn: '4.000', crit: '8.000', min: 0 },
          { label: 'load15', value: 1.06, warn: '3.000', crit: '6.000', min: 0 },
        ],
        problems: [],
      },
    ],
    [
      'check_tcp with seconds and min/max',
      'TCP OK - 0.000 second response time on 127.0.0.1 port 6379|time=0.000154s;;;0.000000;10.000000',
      {
        text: 'TCP OK - 0.000 second response time on 127.0.0.1 port 6379',
        metrics: [{ label: 'time', value: 0.000154, unit: 's', min: 0, max: 10 }],
        problems: [],
      },
    ],
    [
      'check_ping with ms and a percentage',
      'PING OK - Packet loss = 0%, RTA = 0.05 ms|rta=0.047000ms;100.000000;200.000000;0.000000 pl=0%;20;50;0;',
      {
        metrics: [
          {
            label: 'rta',
            value: 0.047,
            unit: 'ms',
            warn: '100.000000',
            crit: '200.000000',
            min: 0,
          },
          { label: 'pl', value: 0, unit: '%', warn: '20', crit: '50', min: 0 },
        ],
      },
    ],
    [
      'check_disk with a label that is a path and bytes',
      'DISK OK - free space: / 80233MiB (77% inode=97%);| /=24812453888B;216442024755;243497277849;0;270552530944',
      {
        text: 'DISK OK - free space: / 80233MiB (77% inode=97%);',
        metrics: [
          {
            label: '/',
            value: 24812453888,
            unit: 'B',
            warn: '216442024755',
            crit: '243497277849',
            min: 0,
            max: 270552530944,
          },
        ],
      },
    ],
    [
      'the guidelines example with long text and perfdata on later lines',
      diskMultiline,
      {
        text: 'DISK OK - free space: / 3326 MB (56%);',
        longText: [
          '/ 15272 MB (77%);',
          '/boot 68 MB (69%);',
          '/home 69357 MB (27%);',
          '/var/log 819 MB (84%);',
        ],
        metrics: [
          { label: '/', value: 2643, unit: 'MB', warn: '5948', crit: '5958', min: 0, max: 5968 },
          { label: '/boot', value: 68, unit: 'MB', warn: '88', crit: '93', min: 0, max: 98 },
          {
            label: '/home',
            value: 69357,
            unit: 'MB',
            warn: '253404',
            crit: '253409',
            min: 0,
            max: 253414,
          },
          { label: '/var/log', value: 818, unit: 'MB', warn: '970', crit: '975', min: 0, max: 980 },
        ],
        problems: [],
      },
    ],
    [
      'output without perfdata',
      'WARNING: warn text\n',
      { text: 'WARNING: warn text', longText: [], metrics: [], problems: [] },
    ],
    [
      'check_http failing with the error on the first line',
      'connect to address 127.0.0.1 and port 1: Connection refused\nHTTP CRITICAL - Unable to open TCP socket\n',
      {
        text: 'connect to address 127.0.0.1 and port 1: Connection refused',
        longText: ['HTTP CRITICAL - Unable to open TCP socket'],
        metrics: [],
      },
    ],
    ['empty output', '', { text: '', longText: [], metrics: [], problems: [] }],
    [
      'CRLF line endings',
      'OK - fine|x=1\r\nmore\r\n',
      { text: 'OK - fine', longText: ['more'], metrics: [{ label: 'x', value: 1 }] },
    ],
  ])('parses %s', (_name, output, expected) => {
    expect(parsePluginOutput(output)).toMatchObject(expected)
  })
})

describe('parsePerfdata', () => {
  it.each<[string, string, Partial<ReturnType<typeof parsePerfdata>>]>([
    [
      'a quoted label with spaces',
      "'free space /var'=12.5GB;20;10;0;100",
      {
        metrics: [
          {
            label: 'free space /var',
            value: 12.5,
            unit: 'GB',
            warn: '20',
            crit: '10',
            min: 0,
            max: 100,
          },
        ],
      },
    ],
    [
      'a doubled quote inside a quoted label',
      "'it''s'=1c",
      { metrics: [{ label: "it's", value: 1, unit: 'c' }], problems: [] },
    ],
    [
      'threshold ranges of every form',
      'a=5;10:;~:20 b=5;@10:20;10:20 c=-1.5e3us;;',
      {
        metrics: [
          { label: 'a', value: 5, warn: '10:', crit: '~:20' },
          { label: 'b', value: 5, warn: '@10:20', crit: '10:20' },
          { label: 'c', value: -1500, unit: 'us' },
        ],
        problems: [],
      },
    ],
    [
      'a U value is listed as unknown',
      'rta=U;;;; pl=0%',
      { metrics: [{ label: 'pl', value: 0 }], unknown: ['rta'] },
    ],
    [
      'a comma as decimal separator',
      'time=0,25s',
      { metrics: [{ label: 'time', value: 0.25, unit: 's' }] },
    ],
    [
      'a unit repeated on min and max',
      'swap=0MB;0;0;0MB;512MB',
      { metrics: [{ label: 'swap', value: 0, unit: 'MB', min: 0, max: 512 }] },
    ],
  ])('parses %s', (_name, text, expected) => {
    expect(parsePerfdata(text)).toMatchObject(expected)
  })

  it.each<[string, string, number, string]>([
    ['a value that is not a number', 'load=high;1;2 ok=1', 1, 'load\' has value "high"'],
    ['an item without =', 'garbage ok=1', 1, 'perfdata item "garbage" has no "=value"'],
    ['an unclosed quote', "ok=1 'broken=5", 1, 'has no closing quote'],
    ['an empty label', '=5 ok=1', 1, 'empty label'],
    ['a threshold that is not a range', 'x=1;abc;2', 1, 'warn threshold "abc"'],
    ['a min that is not a number', 'x=1;;;zero', 1, 'min "zero"'],
    ['a unit outside the guidelines', 'x=1KiB ok=2', 2, 'unit "KiB"'],
    ['extra fields', 'x=1;;;;;7', 1, 'more than five'],
    ['an empty value', 'x= ok=1', 1, 'value ""'],
  ])('reports %s without throwing', (_name, text, metricCount, problem) => {
    const result = parsePerfdata(text)
    expect(result.metrics).toHaveLength(metricCount)
    expect(result.problems.join('\n')).toContain(problem)
  })
})

describe('exitCodeStatus', () => {
  it.each<[number | null, CheckStatus, string]>([
    [0, 'up', 'OK'],
    [1, 'degraded', 'WARNING'],
    [2, 'down', 'CRITICAL'],
    [3, 'down', 'UNKNOWN'],
    [4, 'down', 'UNKNOWN'],
    [127, 'down', 'UNKNOWN'],
    [-1, 'down', 'UNKNOWN'],
    [null, 'down', 'UNKNOWN'],
  ])('maps exit code %s to %s (%s)', (code, status, state) => {
    expect(exitCodeStatus(code)).toBe(status)
    expect(exitCodeState(code)).toBe(state)
  })
})

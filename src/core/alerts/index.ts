export { fingerprint, type Labels } from './fingerprint.js'
export { alertForTransition, type AlertEvent, type AlertingMonitor } from './monitor-alert.js'

export { finalSchedule, type OnCallShift, type ShiftSource } from './final-schedule.js'
export { nextHandoff, type NextHandoffOptions } from './next-handoff.js'
export { scheduleGaps } from './schedule-gaps.js'
export {
  layerSchema,
  overrideSchema,
  restrictionSchema,
  rotationSchema,
  scheduleSchema,
  timeZoneSchema,
  type Layer,
  type Override,
  type Restriction,
  type Rotation,
  type Schedule,
  type ScheduleInput,
  type Weekday,
} from './schedule-schema.js'
export { scheduleToICal, type ScheduleToICalOptions } from './schedule-to-ical.js'
export { whoIsOnCall } from './who-is-on-call.js'
export type { TimeRange } from './layer-shifts.js'

import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { InputError, NotFoundError } from '../core/errors.js'
import { overrideSchema, type Schedule } from '../core/oncall/index.js'
import { appendAudit } from '../store/audit.js'
import {
  deleteScheduleOverride as deleteRow,
  getScheduleOverride,
  insertScheduleOverride,
  listScheduleOverrides,
  type StoredScheduleOverride,
} from '../store/schedule-overrides.js'
import { requireTeamAccess } from './auth.js'
import type { ServiceContext } from './context.js'
import { maxScheduleRangeMs, readOncallConfig } from './oncall.js'

/** An instant as the body may give it; the error names the field and shows the form. */
function instantInput(field: string) {
  const error = `\`${field}\` must be an ISO 8601 time with an offset, such as 2026-11-28T09:00:00+01:00, or epoch ms`
  return z.union([z.number().int(error), z.string().min(1, error)], { error })
}

/** What `POST /api/v1/schedules/:id/overrides` takes. */
export const scheduleOverrideBodySchema = z.strictObject({
  user: z.string().min(1, '`user` must name a user of keel.yaml').max(200),
  start: instantInput('start'),
  end: instantInput('end'),
  note: z.string().max(1000).optional(),
})

/** An override as the API shows it, with the user's display name. */
export interface ScheduleOverrideView extends StoredScheduleOverride {
  name?: string
}

async function scheduleFor(ctx: Pick<ServiceContext, 'db'>, id: string) {
  const config = await readOncallConfig(ctx.db)
  if (!Object.hasOwn(config.schedules, id)) {
    const known = Object.keys(config.schedules).sort()
    throw new NotFoundError(
      `schedule ${id} does not exist; ${known.length === 0 ? 'no schedules are configured' : `schedules: ${known.join(', ')}`}`,
    )
  }
  return { config, schedule: config.schedules[id] as Schedule }
}

function problem(path: string, message: string): InputError {
  return new InputError(`${path}: ${message}`, { details: [{ path, message }] })
}

/**
 * Puts `user` on call in schedule `scheduleId` from `start` to `end`, above the layers and the
 * overrides of keel.yaml. Operators may; a team-scoped one only for a schedule of their team.
 */
export async function createScheduleOverride(
  ctx: ServiceContext,
  scheduleId: string,
  input: unknown,
): Promise<ScheduleOverrideView> {
  const body = scheduleOverrideBodySchema.safeParse(input)
  if (!body.success) {
    const issue = body.error.issues[0]
    throw problem(issue?.path.join('.') || 'body', issue?.message ?? 'is invalid')
  }
  const { config, schedule } = await scheduleFor(ctx, scheduleId)
  requireTeamAccess(ctx.actor, 'operator', {
    type: 'schedule',
    id: scheduleId,
    team: schedule.team,
  })
  const range = overrideSchema.safeParse({
    user: body.data.user,
    start: body.data.start,
    end: body.data.end,
  })
  if (!range.success) {
    const issue = range.error.issues[0]
    throw problem(issue?.path.join('.') || 'start', issue?.message ?? 'is invalid')
  }
  if (!Object.hasOwn(config.users, body.data.user)) {
    const known = Object.keys(config.users).sort()
    throw problem(
      'user',
      `user ${body.data.user} is not defined in keel.yaml; ${known.length === 0 ? 'no users are configured' : `users: ${known.join(', ')}`}`,
    )
  }
  const now = ctx.clock.now()
  if (range.data.end <= now) {
    throw problem('end', '`end` is in the past; an override must end after now')
  }
  if (range.data.end - range.data.start > maxScheduleRangeMs) {
    throw problem('end', 'an override may last at most 366 days; add several for longer')
  }
  const stored: StoredScheduleOverride = {
    id: randomUUID(),
    scheduleId,
    user: body.data.user,
    start: range.data.start,
    end: range.data.end,
    ...(body.data.note !== undefined && body.data.note.trim() !== ''
      ? { note: body.data.note.trim() }
      : {}),
    createdBy: ctx.actor.user ?? ctx.actor.name,
    createdAt: now,
  }
  await ctx.db.transaction().execute(async (trx) => {
    await insertScheduleOverride(trx, stored)
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'schedule.override.create',
      objectType: 'schedule',
      objectId: scheduleId,
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: { after: stored },
    })
  })
  return viewOf(stored, config.users[stored.user]?.name)
}

/** Removes an override made through the API (those of keel.yaml change with keel.yaml). */
export async function deleteScheduleOverride(
  ctx: ServiceContext,
  scheduleId: string,
  id: string,
): Promise<void> {
  const { schedule } = await scheduleFor(ctx, scheduleId)
  requireTeamAccess(ctx.actor, 'operator', {
    type: 'schedule',
    id: scheduleId,
    team: schedule.team,
  })
  const existing = await getScheduleOverride(ctx.db, id)
  if (!existing || existing.scheduleId !== scheduleId) {
    throw new NotFoundError(`schedule ${scheduleId} has no override ${id}`)
  }
  const now = ctx.clock.now()
  await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteRow(trx, id))) {
      throw new NotFoundError(`schedule ${scheduleId} has no override ${id}`)
    }
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'schedule.override.delete',
      objectType: 'schedule',
      objectId: scheduleId,
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: { before: existing },
    })
  })
}

/**
 * The overrides of schedule `scheduleId` made through the API that end after `from` (now when
 * absent) and start before `to` (a year after `from` when absent), in the order they were made.
 */
export async function listScheduleOverridesView(
  ctx: Pick<ServiceContext, 'db' | 'clock'>,
  scheduleId: string,
  range: { from?: number; to?: number } = {},
): Promise<ScheduleOverrideView[]> {
  const { config } = await scheduleFor(ctx, scheduleId)
  const from = range.from ?? ctx.clock.now()
  const to = range.to ?? from + maxScheduleRangeMs
  const stored = await listScheduleOverrides(ctx.db, { scheduleId, from, to })
  return stored.map((o) => viewOf(o, config.users[o.user]?.name))
}

function viewOf(override: StoredScheduleOverride, name: string | undefined): ScheduleOverrideView {
  return { ...override, ...(name !== undefined ? { name } : {}) }
}

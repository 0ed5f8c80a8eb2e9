import { z } from 'zod';

export const createScheduleRequestSchema = z
  .object({
    entityRef: z.string().min(1).max(500),
    dataClass: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    strategy: z.enum(['zfs', 'rsync', 'postgres', 'blob']),
    intervalSeconds: z.number().int().min(60).max(7 * 86_400).default(900),
    enabled: z.boolean().default(true),
    params: z.record(z.unknown()),
  })
  .strict();
export type CreateScheduleRequest = z.input<typeof createScheduleRequestSchema>;

export const updateScheduleRequestSchema = z
  .object({
    intervalSeconds: z.number().int().min(60).max(7 * 86_400).optional(),
    enabled: z.boolean().optional(),
    params: z.record(z.unknown()).optional(),
  })
  .strict();

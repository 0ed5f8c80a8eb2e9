import { z } from 'zod';
import { JobKind } from '../types';

/**
 * Built-in kinds that touch nothing outside the job's own log: for demos, smoke tests and trying the
 * API before the real job kinds (migration, replication) are installed. Read-only, so they take no locks.
 */

const echoParams = z
  .object({
    message: z.string().max(500).default('hello'),
    /** How long the `wait` step sleeps (cancellable). */
    sleepSeconds: z.number().min(0).max(3600).default(0),
  })
  .strict();

export const demoEchoJobKind: JobKind<z.infer<typeof echoParams>> = {
  kind: 'demo.echo',
  title: 'Echo a message, then wait',
  params: echoParams,
  locks: () => [],
  steps: [
    {
      name: 'echo',
      title: 'Write the message to the log',
      async run(ctx) {
        await ctx.log(ctx.job.params.message);
        return { echoed: ctx.job.params.message };
      },
    },
    {
      name: 'wait',
      title: 'Wait, reporting progress',
      async run(ctx) {
        const total = ctx.job.params.sleepSeconds;
        for (let second = 0; second < total; second++) {
          await ctx.progress({ done: second, total, message: `${total - second} s left` });
          await ctx.sleep(1_000);
        }
        return { waitedSeconds: total };
      },
    },
  ],
};

const approvalParams = z.object({ message: z.string().max(500).default('approved work') }).strict();

export const demoApprovalJobKind: JobKind<z.infer<typeof approvalParams>> = {
  kind: 'demo.approval',
  title: 'Prepare, wait for a human approval, then commit',
  params: approvalParams,
  locks: () => [],
  steps: [
    {
      name: 'prepare',
      async run(ctx) {
        await ctx.log('Prepared', { message: ctx.job.params.message });
      },
    },
    { name: 'approve', title: 'A person approves the commit', approvalGate: true },
    {
      name: 'commit',
      title: 'Commit (the point of no return)',
      pointOfNoReturn: true,
      // The demo's only effect is its output, which the engine stores when the step succeeds; so an
      // interrupted commit has not taken effect and may run.
      async reconcile() {
        return { done: false };
      },
      async run(ctx) {
        await ctx.log(`Committed: ${ctx.job.params.message}`);
        return { committedAt: new Date(ctx.clock.now()).toISOString() };
      },
    },
  ],
};

export const demoJobKinds = [demoEchoJobKind, demoApprovalJobKind];

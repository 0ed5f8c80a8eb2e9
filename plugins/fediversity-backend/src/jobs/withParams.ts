import { StepContext } from './types';

/**
 * The same step context with other params (a job kind's view of its own, e.g. with a target bound by an
 * earlier step's output). Everything else is the original's, the checkpoint read live as there.
 */
export function withParams<TFrom, TTo>(ctx: StepContext<TFrom>, params: TTo): StepContext<TTo> {
  return {
    job: { ...ctx.job, params },
    step: ctx.step,
    signal: ctx.signal,
    get checkpoint() {
      return ctx.checkpoint;
    },
    saveCheckpoint: checkpoint => ctx.saveCheckpoint(checkpoint),
    outputs: ctx.outputs,
    log: (message, fields, level) => ctx.log(message, fields, level),
    logOutcome: (message, fields, level) => ctx.logOutcome(message, fields, level),
    progress: progress => ctx.progress(progress),
    registerSecret: value => ctx.registerSecret(value),
    clock: ctx.clock,
    sleep: ms => ctx.sleep(ms),
  };
}

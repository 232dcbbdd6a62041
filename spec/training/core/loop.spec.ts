import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import {
  LossHistory, clipGradients, createUpdate, keptNote, movingAverage, runTrainingLoop, stepBudget,
  type StepOutcome, type TrainProgress,
} from '../../../training/core/loop.js';
import { InputError, NumericalError } from '../../../training/core/errors.js';
import { createOptimizer } from '../../../training/core/optimizers.js';

describe('the step budget', () => {
  it('is the smaller of epochs·stepsPerEpoch and maxSteps, one epoch when neither is given', () => {
    expect(stepBudget('t', {}, 13)).toEqual({ totalSteps: 13, reason: 'epochs' });
    expect(stepBudget('t', { epochs: 2 }, 13)).toEqual({ totalSteps: 26, reason: 'epochs' });
    expect(stepBudget('t', { maxSteps: 5 }, 13)).toEqual({ totalSteps: 5, reason: 'max-steps' });
    expect(stepBudget('t', { epochs: 2, maxSteps: 30 }, 13)).toEqual({ totalSteps: 26, reason: 'epochs' });
    expect(stepBudget('t', { epochs: 2, maxSteps: 26 }, 13)).toEqual({ totalSteps: 26, reason: 'max-steps' });
    // 0.3 epochs of 13 steps = 3.9 steps: rounded, or up.
    expect(stepBudget('t', { epochs: 0.3 }, 13).totalSteps).toBe(4);
    expect(stepBudget('t', { epochs: 0.2 }, 13).totalSteps).toBe(3);
    expect(stepBudget('t', { epochs: 0.2 }, 13, Math.ceil).totalSteps).toBe(3);
    expect(stepBudget('t', { epochs: 0.16 }, 13, Math.ceil).totalSteps).toBe(3);
  });

  it('refuses epochs ≤ 0 and a fractional or negative maxSteps, naming the operation', () => {
    expect(() => stepBudget('Trainer.run', { epochs: 0 }, 13)).toThrow(new InputError('Trainer.run: expected epochs > 0, got 0'));
    expect(() => stepBudget('Trainer.run', { maxSteps: 2.5 }, 13)).toThrow('Trainer.run: expected maxSteps to be an integer ≥ 0, got 2.5');
    expect(() => stepBudget('Trainer.run', { maxSteps: -1 }, 13)).toThrow(InputError);
  });
});

describe('the loss record', () => {
  it('the moving average puts 0.95 on the past and starts at the first loss', () => {
    expect(movingAverage(NaN, 2)).toBe(2);
    expect(movingAverage(2, 4)).toBeCloseTo(2.1, 15);
    const h = new LossHistory();
    for (const loss of [2, 4, 0]) h.add(loss);
    expect(h.values).toEqual([2, 4, 0]);
    expect(h.smoothed).toBeCloseTo(0.95 * 2.1, 15);
  });

  it('a resumed record continues its average', () => {
    const h = new LossHistory([1, 1], 1);
    h.add(3);
    expect(h.values).toEqual([1, 1, 3]);
    expect(h.smoothed).toBeCloseTo(1.1, 15);
  });

  it('a checkpoint keeps the last losses and the step of the first of them', () => {
    const h = new LossHistory([], NaN, 11); // resumed: values[0] is step 11
    for (let i = 0; i < 10; i++) h.add(i);
    expect(h.tail(4)).toEqual({ values: [6, 7, 8, 9], firstStep: 17 });
    expect(h.tail(100)).toEqual({ values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], firstStep: 11 });
    h.tail(4).values.push(99); // a copy
    expect(h.values).toHaveLength(10);
  });
});

/** A trainer stand-in whose steps take `ms` milliseconds of a fake clock; losses 1, 2, 3, … */
function fakeTrainer(ms = 2000, stepsPerEpoch = 4): { clock: () => number; step: () => StepOutcome; done: () => number } {
  let t = 0;
  let done = 0;
  return {
    clock: () => t,
    step: () => {
      t += ms;
      done++;
      return { loss: done, epoch: done / stepsPerEpoch, units: 10 };
    },
    done: () => done,
  };
}

describe('the training loop', () => {
  it('runs to the budget, counting on from a resumed step, reporting progress before afterStep', () => {
    const f = fakeTrainer();
    const events: string[] = [];
    const reports: TrainProgress[] = [];
    const r = runTrainingLoop({
      startStep: 3, totalSteps: 6, budgetReason: 'max-steps', now: f.clock, step: f.step,
      onProgress: (p) => {
        events.push(`progress ${p.step}`);
        reports.push(p);
      },
      afterStep: (p) => void events.push(`after ${p.step}`),
    });
    expect(r).toMatchObject({ stopReason: 'max-steps', steps: 6, runSteps: 3, seconds: 6, stepSeconds: 6, unitsPerSecond: 5 });
    expect(f.done()).toBe(3);
    expect(events).toEqual(['progress 4', 'after 4', 'progress 5', 'after 5', 'progress 6', 'after 6']);
    // Losses 1, 2, 3: smoothed 1, 0.95 + 0.1 = 1.05, 0.95·1.05 + 0.15 = 1.1475.
    expect(reports.map((p) => [p.step, p.totalSteps, p.epoch, p.loss, p.elapsedSeconds, p.unitsPerSecond])).toEqual([
      [4, 6, 0.25, 1, 2, 5], [5, 6, 0.5, 2, 4, 5], [6, 6, 0.75, 3, 6, 5],
    ]);
    expect(reports[2].smoothLoss).toBeCloseTo(1.1475, 14);
    expect(r.smoothLoss).toBe(reports[2].smoothLoss);
  });

  it('does not start a step that would end after the time limit (2-second steps, 5-second limit: 2 steps)', () => {
    const f = fakeTrainer(2000);
    const r = runTrainingLoop({ startStep: 0, totalSteps: 100, budgetReason: 'epochs', timeLimitSeconds: 5, now: f.clock, step: f.step });
    expect(r.stopReason).toBe('time-limit');
    expect(r.steps).toBe(2); // a third step would end at 6 s
    const g = fakeTrainer(2000);
    const exact = runTrainingLoop({ startStep: 0, totalSteps: 100, budgetReason: 'epochs', timeLimitSeconds: 6, now: g.clock, step: g.step });
    expect(exact.steps).toBe(3); // the third ends at exactly 6 s: allowed
  });

  it('stops after the step under way when the signal is aborted, and when afterStep asks to', () => {
    const f = fakeTrainer();
    const controller = new AbortController();
    const r = runTrainingLoop({
      startStep: 0, totalSteps: 10, budgetReason: 'epochs', now: f.clock, step: f.step, signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 3) controller.abort();
      },
    });
    expect(r.stopReason).toBe('interrupted');
    expect(r.steps).toBe(3);

    const g = fakeTrainer();
    const early = runTrainingLoop({
      startStep: 0, totalSteps: 10, budgetReason: 'epochs', now: g.clock, step: g.step,
      afterStep: (p) => (p.step === 4 ? 'early-stopping' : undefined),
    });
    expect(early.stopReason).toBe('early-stopping');
    expect(early.steps).toBe(4);
  });

  it('takes the CLI stop flag ({ stopRequested }) as its signal too', () => {
    const f = fakeTrainer();
    const flag = { stopRequested: false };
    const r = runTrainingLoop({
      startStep: 0, totalSteps: 10, budgetReason: 'epochs', now: f.clock, step: f.step, signal: flag,
      afterStep: (p) => {
        if (p.step === 2) flag.stopRequested = true;
      },
    });
    expect([r.stopReason, r.steps]).toEqual(['interrupted', 2]);
  });

  it('adds to the record it is given and lets a step failure through', () => {
    const losses = new LossHistory([5], 5);
    const f = fakeTrainer();
    runTrainingLoop({ startStep: 1, totalSteps: 3, budgetReason: 'epochs', now: f.clock, step: f.step, losses });
    expect(losses.values).toEqual([5, 1, 2]);
    expect(() => runTrainingLoop({
      startStep: 0, totalSteps: 3, budgetReason: 'epochs', step: () => { throw new NumericalError('NaN in loss at step 1', 1, 'loss'); },
    })).toThrow(NumericalError);
  });
});

describe('the update', () => {
  const setup = (dtype: 'float64' = 'float64') => {
    const params = { W: Matrix.fromArray([[1, 2], [3, 4]], dtype), b: Matrix.fromArray([[0.5, -0.5]], dtype) };
    const grads = { W: Matrix.fromArray([[3, 0], [0, 0]], dtype), b: Matrix.fromArray([[4, 0]], dtype) };
    return { params, grads, optimizer: createOptimizer({ kind: 'sgd', lr: 1 }, params) };
  };

  it('clips by global norm: ‖g‖ = 5, max 1 → every gradient × 1/(5 + 1e−6), ratio 5; then one SGD step', () => {
    const { params, grads, optimizer } = setup();
    const info = createUpdate(params, grads, optimizer, { clip: { mode: 'norm', max: 1 } })(1, 0.7);
    expect(info.gradNorm).toBe(5);
    expect(info.clipRatio).toBe(5);
    expect(info.lr).toBe(1);
    const f = 1 / (5 + 1e-6);
    expect(params.W.get(0, 0)).toBeCloseTo(1 - 3 * f, 14);
    expect(params.b.get(0, 0)).toBeCloseTo(0.5 - 4 * f, 14);
    expect(optimizer.step).toBe(1);
  });

  it('clips by value: entries clamped to ±max, ratio max|g| / max; no clipping: ratio 0, gradients untouched', () => {
    const a = setup();
    const info = createUpdate(a.params, a.grads, a.optimizer, { clip: { mode: 'value', max: 2 } })(1, 0.7);
    expect(info.clipRatio).toBe(2);
    expect(a.params.W.toArray()).toEqual([[-1, 2], [3, 4]]);
    expect(a.params.b.toArray()).toEqual([[-1.5, -0.5]]);
    const b = setup();
    expect(createUpdate(b.params, b.grads, b.optimizer)(1, 0.7).clipRatio).toBe(0);
    expect(b.params.W.toArray()).toEqual([[-2, 2], [3, 4]]);
    expect(clipGradients([Matrix.fromArray([[0.5]], 'float64')], { mode: 'norm', max: 1 })).toBe(0.5);
  });

  it('a non-finite loss stops before the update, naming the step and the first non-finite weight', () => {
    const { params, grads, optimizer } = setup();
    params.b.set(0, 1, Infinity);
    const update = createUpdate(params, grads, optimizer);
    let err: unknown;
    try {
      update(7, NaN, () => keptNote('ck.json', 5));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NumericalError);
    expect((err as NumericalError).message).toBe('NaN in loss at step 7 (first non-finite weight: b); training stopped, the last good checkpoint ck.json (step 5) is kept');
    expect([(err as NumericalError).step, (err as NumericalError).tensor]).toEqual([7, 'loss']);
    expect(params.W.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(optimizer.step).toBe(0);
  });

  it('a non-finite gradient stops before the update, naming the first bad tensor in the given order and its entry', () => {
    const { params, grads, optimizer } = setup();
    grads.W.set(1, 0, NaN);
    grads.b.set(0, 1, -Infinity);
    expect(() => createUpdate(params, grads, optimizer)(2, 1)).toThrow('NaN in grad of W at step 2 (entry [1, 0]); training stopped, nothing was updated with it');
    expect(() => createUpdate(params, grads, optimizer, { gradOrder: ['b', 'W'] })(2, 1))
      .toThrow(new NumericalError('-Infinity in grad of b at step 2 (entry [0, 1]); training stopped, nothing was updated with it', 2, 'grad of b'));
    expect(params.W.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(optimizer.step).toBe(0);
    expect(keptNote('ck.json', -1)).toBe('; training stopped before any checkpoint was written to ck.json');
  });
});

describe('the divergence guard of the update', () => {
  const setup = () => {
    const params = { W: Matrix.fromArray([[1, 2]], 'float64') };
    const grads = { W: Matrix.fromArray([[0.5, 0]], 'float64') };
    return { params, grads, optimizer: createOptimizer({ kind: 'sgd', lr: 1 }, params) };
  };

  it('stops before the update when the loss is more than 100× and 100 nats above the first one, saying what to change', () => {
    const { params, grads, optimizer } = setup();
    const update = createUpdate(params, grads, optimizer, { divergence: { op: 'train', advice: 'lower --lr' } });
    update(1, 2);
    update(2, 150); // 75×: not yet
    expect(optimizer.step).toBe(2);
    const before = params.W.toArray();
    let err: unknown;
    try {
      update(3, 300, () => keptNote('ck.json', 2));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NumericalError);
    expect((err as Error).message).toBe('train: the loss rose from 2.000 to 300.0 at step 3: training diverged (lower --lr; training stopped, the last good checkpoint ck.json (step 2) is kept)');
    expect(params.W.toArray()).toEqual(before);
    expect(optimizer.step).toBe(2);
  });

  it('needs both: a small first loss may grow 100× as long as it stays within 100 nats', () => {
    const { params, grads, optimizer } = setup();
    const update = createUpdate(params, grads, optimizer);
    update(1, 0.01);
    expect(() => update(2, 50)).not.toThrow();
    expect(() => update(3, 101)).toThrow(/^training: the loss rose from 0\.01000 to 101\.0 at step 3: training diverged \(lower the learning rate; training stopped, nothing was updated with it\)$/);
  });
});

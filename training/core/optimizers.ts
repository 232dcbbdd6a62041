/**
 * Optimizers as plain functions over named parameter/gradient sets, with serialisable state.
 *
 *   const opt = createOptimizer({ kind: 'adam', lr: 1e-3 }, params);
 *   … backward fills grads …
 *   optimizerStep(opt, params, grads);          // one update, lr from the schedule at opt.step
 *   writeFileAtomic(path, JSON.stringify(optimizerToJSON(opt)));
 *   const resumed = optimizerFromJSON(json, params);   // bit-identical continuation
 *
 * Update rules, for one parameter θ with gradient g at update t = 1, 2, … (learning rate η_t from
 * the schedule; all in PyTorch's form, which for these rules is also the notes' form):
 *
 *   L2 weight decay (weightDecay = λ, default):  g ← g + λ·θ         (before the rule)
 *   decoupled (AdamW, decoupledWeightDecay):     θ ← θ − η_t·λ·θ     (before the rule, g untouched)
 *   sgd:       θ ← θ − η·g
 *   momentum:  v ← μ·v + (1 − dampening)·g  (v ← g at t = 1),  θ ← θ − η·v
 *              nesterov: θ ← θ − η·(g + μ·v)                    (torch.optim.SGD)
 *   rmsprop:   s ← α·s + (1 − α)·g²,  θ ← θ − η·g / (√s + ε)    (torch.optim.RMSprop; the notes' β is α)
 *   adam:      m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,
 *              m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ),  θ ← θ − η·m̂ / (√v̂ + ε)
 *   adagrad:   s ← s + g²,  θ ← θ − η·g / (√s + ε)
 *
 * Arithmetic is done in float64 and stored in the parameter's dtype; the state buffers have the
 * parameter's dtype. The update itself is the backend seam's `parameterUpdate` kernel (the js one,
 * or wasm SIMD in float64 lanes: the same bits). Serialisation stores the raw bytes of every buffer
 * (base64, little-endian), so a save/load round trip is exact and a resumed run continues bit-identically.
 */
import { parameterUpdateKernel, type UpdateRule } from '../../engine/backend.js';
import { Matrix, shapeOf } from '../../engine/matrix.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';

export type ParamSet = Record<string, Matrix>;
export type OptimizerKind = 'sgd' | 'momentum' | 'rmsprop' | 'adam' | 'adagrad';

/** Learning-rate schedules: a multiplier of the base rate as a pure function of the update index. */
export type LrSchedule =
  | { kind: 'constant' }
  /** Linear from 1 at step 0 to `finalFactor` (default 0) at `totalSteps`, then flat. */
  | { kind: 'linear'; totalSteps: number; finalFactor?: number }
  /** Multiply by `gamma` every `stepSize` steps: γ^⌊step / stepSize⌋ (torch StepLR). */
  | { kind: 'step'; stepSize: number; gamma: number }
  /** (step + 1) / warmupSteps for the first warmupSteps updates, then `after` at (step − warmupSteps). */
  | { kind: 'warmup'; warmupSteps: number; after: LrSchedule };

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** Base learning rate η. */
  lr: number;
  /** λ (default 0). */
  weightDecay?: number;
  /** Apply weight decay to θ directly instead of adding λθ to g (AdamW; default false). */
  decoupledWeightDecay?: boolean;
  /** Momentum μ (momentum; default 0.9). */
  momentum?: number;
  /** Dampening (momentum; default 0). */
  dampening?: number;
  /** Nesterov momentum (momentum; default false). */
  nesterov?: boolean;
  /** RMSProp's decay α (default 0.99, as torch.optim.RMSprop). */
  alpha?: number;
  /** Adam's β₁ (default 0.9). */
  beta1?: number;
  /** Adam's β₂ (default 0.999). */
  beta2?: number;
  /** ε (defaults: 1e−8; adagrad 1e−10 as PyTorch). */
  eps?: number;
  /** Default constant. */
  schedule?: LrSchedule;
}

/** The config with every default filled in. */
export type ResolvedOptimizerConfig = Required<Omit<OptimizerConfig, 'schedule'>> & { schedule: LrSchedule };

export interface OptimizerState {
  config: ResolvedOptimizerConfig;
  /** Updates done so far (the schedule is evaluated at this index for the next update). */
  step: number;
  /** Per parameter, the rule's buffers (velocity; square average; m and v; sum of squares). */
  slots: Record<string, Record<string, Matrix>>;
}

const SLOT_NAMES: Record<OptimizerKind, string[]> = {
  sgd: [],
  momentum: ['velocity'],
  rmsprop: ['squareAvg'],
  adam: ['expAvg', 'expAvgSq'],
  adagrad: ['sum'],
};

/** Fill in defaults and check every hyper-parameter. */
export function resolveOptimizerConfig(config: OptimizerConfig): ResolvedOptimizerConfig {
  const op = 'createOptimizer';
  if (!config || !(config.kind in SLOT_NAMES)) {
    throw new Error(`${op}: expected kind sgd|momentum|rmsprop|adam|adagrad, got ${JSON.stringify(config?.kind)}`);
  }
  const resolved: ResolvedOptimizerConfig = {
    kind: config.kind,
    lr: config.lr,
    weightDecay: config.weightDecay ?? 0,
    decoupledWeightDecay: config.decoupledWeightDecay ?? false,
    momentum: config.momentum ?? 0.9,
    dampening: config.dampening ?? 0,
    nesterov: config.nesterov ?? false,
    alpha: config.alpha ?? 0.99,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    eps: config.eps ?? (config.kind === 'adagrad' ? 1e-10 : 1e-8),
    schedule: config.schedule ?? { kind: 'constant' },
  };
  expectNumber(op, 'lr', resolved.lr, (v) => v >= 0, '≥ 0');
  expectNumber(op, 'weightDecay', resolved.weightDecay, (v) => v >= 0, '≥ 0');
  expectNumber(op, 'momentum', resolved.momentum, (v) => v >= 0 && v < 1, 'in [0, 1)');
  expectNumber(op, 'dampening', resolved.dampening, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  expectNumber(op, 'alpha', resolved.alpha, (v) => v >= 0 && v < 1, 'in [0, 1)');
  expectNumber(op, 'beta1', resolved.beta1, (v) => v >= 0 && v < 1, 'in [0, 1)');
  expectNumber(op, 'beta2', resolved.beta2, (v) => v >= 0 && v < 1, 'in [0, 1)');
  expectNumber(op, 'eps', resolved.eps, (v) => v > 0, '> 0');
  if (resolved.nesterov && (resolved.kind !== 'momentum' || resolved.dampening !== 0)) {
    throw new Error(`${op}: nesterov needs kind 'momentum' and dampening 0, got kind '${resolved.kind}', dampening ${resolved.dampening}`);
  }
  checkSchedule(resolved.schedule);
  return resolved;
}

/** A fresh optimizer for `params`: zeroed buffers of each parameter's shape and dtype, step 0. */
export function createOptimizer(config: OptimizerConfig, params: ParamSet): OptimizerState {
  const resolved = resolveOptimizerConfig(config);
  const slots: Record<string, Record<string, Matrix>> = {};
  for (const [name, param] of Object.entries(params)) {
    slots[name] = {};
    for (const slot of SLOT_NAMES[resolved.kind]) slots[name][slot] = Matrix.zeros(param.rows, param.cols, param.dtype);
  }
  return { config: resolved, step: 0, slots };
}

/** The learning rate of update number `step` (0-based) for base rate `lr`. */
export function learningRateAt(lr: number, schedule: LrSchedule, step: number): number {
  return lr * scheduleFactor(schedule, step);
}

/** The multiplier the schedule gives at update `step` (0-based, integer ≥ 0). */
export function scheduleFactor(schedule: LrSchedule, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`scheduleFactor: expected an integer step ≥ 0, got ${step}`);
  switch (schedule.kind) {
    case 'constant':
      return 1;
    case 'linear': {
      const final = schedule.finalFactor ?? 0;
      const progress = Math.min(1, step / schedule.totalSteps);
      return 1 + (final - 1) * progress;
    }
    case 'step':
      return schedule.gamma ** Math.floor(step / schedule.stepSize);
    case 'warmup':
      if (step < schedule.warmupSteps) return (step + 1) / schedule.warmupSteps;
      return scheduleFactor(schedule.after, step - schedule.warmupSteps);
    default:
      throw new Error(`scheduleFactor: unknown schedule kind ${JSON.stringify((schedule as { kind: unknown }).kind)}`);
  }
}

/**
 * One update of every parameter in `params` from `grads` (same names and shapes; grads are only
 * read). Uses the learning rate of update `state.step`, then increments it. Returns that rate.
 */
export function optimizerStep(state: OptimizerState, params: ParamSet, grads: ParamSet): number {
  const { config } = state;
  const lr = learningRateAt(config.lr, config.schedule, state.step);
  const t = state.step + 1;
  const update = fillRule(config, lr, t);
  // for…in, not Object.entries: no array per step in the training loop
  for (const name in params) {
    const param = params[name];
    const grad = grads[name];
    if (!grad) throw new Error(`optimizerStep: expected a gradient for parameter '${name}', got none`);
    if (grad.rows !== param.rows || grad.cols !== param.cols) {
      throw new Error(`optimizerStep: expected the gradient of '${name}' to be ${shapeOf(param)}, got ${shapeOf(grad)}`);
    }
    const slots = state.slots[name];
    if (!slots) throw new Error(`optimizerStep: the optimizer has no state for parameter '${name}' (created for other parameters?)`);
    updateParameter(config.kind, update, param, grad, slots);
  }
  state.step = t;
  return lr;
}

const RULE_KINDS: Record<OptimizerKind, number> = { sgd: 0, momentum: 1, rmsprop: 2, adam: 3, adagrad: 4 };

/** The constants of the current update, shared by every parameter (one object, refilled: no garbage per step). */
const rule: UpdateRule = {
  kind: 0, lr: 0, l2: 0, shrink: 1, momentum: 0, dampening: 0, nesterov: false, t: 1,
  alpha: 0, beta1: 0, beta2: 0, eps: 0, c1: 1, sqrtC2: 1,
};

function fillRule(config: ResolvedOptimizerConfig, lr: number, t: number): UpdateRule {
  const { weightDecay, decoupledWeightDecay } = config;
  rule.kind = RULE_KINDS[config.kind];
  rule.lr = lr;
  rule.l2 = decoupledWeightDecay ? 0 : weightDecay;
  rule.shrink = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  rule.momentum = config.momentum;
  rule.dampening = config.dampening;
  rule.nesterov = config.nesterov;
  rule.t = t;
  rule.alpha = config.alpha;
  rule.beta1 = config.beta1;
  rule.beta2 = config.beta2;
  rule.eps = config.eps;
  // Adam's bias corrections, in PyTorch's arrangement: θ ← θ − (η / c₁)·m / (√v / √c₂ + ε).
  rule.c1 = 1 - config.beta1 ** t;
  rule.sqrtC2 = Math.sqrt(1 - config.beta2 ** t);
  return rule;
}

/** Apply the configured rule to one parameter (params may be strided views; the slots are contiguous). */
function updateParameter(
  kind: OptimizerKind, update: UpdateRule, param: Matrix, grad: Matrix, slots: Record<string, Matrix>,
): void {
  const a = kind === 'sgd' ? null : slots[SLOT_NAMES[kind][0]].data;
  const b = kind === 'adam' ? slots.expAvgSq.data : null;
  parameterUpdateKernel()(param.rows, param.cols, param, grad, a, b, update);
}

// ---- serialisation -------------------------------------------------------------------------

export interface OptimizerStateJSON {
  kind: 'seqgrad.optimizer';
  version: 1;
  config: ResolvedOptimizerConfig;
  step: number;
  slots: Record<string, Record<string, MatrixJSON>>;
}

export function optimizerToJSON(state: OptimizerState): OptimizerStateJSON {
  const slots: Record<string, Record<string, MatrixJSON>> = {};
  for (const [name, bufs] of Object.entries(state.slots)) {
    slots[name] = {};
    for (const [slot, m] of Object.entries(bufs)) slots[name][slot] = matrixToJSON(m);
  }
  return { kind: 'seqgrad.optimizer', version: 1, config: { ...state.config }, step: state.step, slots };
}

/**
 * Restore a saved optimizer. With `params`, checks that it covers exactly these parameters with
 * the same shapes and dtypes (a checkpoint of another model is refused with a clear message).
 */
export function optimizerFromJSON(json: OptimizerStateJSON, params?: ParamSet): OptimizerState {
  const op = 'optimizerFromJSON';
  if (json?.kind !== 'seqgrad.optimizer' || json.version !== 1) {
    throw new Error(`${op}: expected { kind: "seqgrad.optimizer", version: 1 }, got kind ${JSON.stringify(json?.kind)} version ${JSON.stringify(json?.version)}`);
  }
  const config = resolveOptimizerConfig(json.config);
  if (!Number.isInteger(json.step) || json.step < 0) throw new Error(`${op}: expected step to be an integer ≥ 0, got ${json.step}`);
  const slots: Record<string, Record<string, Matrix>> = {};
  for (const [name, bufs] of Object.entries(json.slots ?? {})) {
    slots[name] = {};
    for (const slot of SLOT_NAMES[config.kind]) {
      if (!bufs[slot]) throw new Error(`${op}: parameter '${name}' lacks the '${slot}' buffer of ${config.kind}`);
      slots[name][slot] = matrixFromJSON(bufs[slot]);
    }
  }
  if (params) {
    for (const [name, param] of Object.entries(params)) {
      const bufs = slots[name];
      if (!bufs) throw new Error(`${op}: the saved optimizer has no state for parameter '${name}'`);
      for (const [slot, m] of Object.entries(bufs)) {
        if (m.rows !== param.rows || m.cols !== param.cols || m.dtype !== param.dtype) {
          throw new Error(`${op}: expected '${name}.${slot}' to be ${param.dtype} ${shapeOf(param)}, got ${m.dtype} ${shapeOf(m)}`);
        }
      }
    }
    for (const name of Object.keys(slots)) {
      if (!(name in params)) throw new Error(`${op}: the saved optimizer has state for '${name}', which is not a parameter of this model`);
    }
  }
  return { config, step: json.step, slots };
}

// ---- validation ----------------------------------------------------------------------------

function expectNumber(op: string, name: string, value: number, ok: (v: number) => boolean, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new Error(`${op}: expected ${name} to be a finite number ${what}, got ${value}`);
  }
}

function checkSchedule(schedule: LrSchedule): void {
  const op = 'createOptimizer';
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  switch (schedule?.kind) {
    case 'constant':
      return;
    case 'linear':
      expectNumber(op, 'schedule.totalSteps', schedule.totalSteps, positiveInt, 'integer > 0');
      expectNumber(op, 'schedule.finalFactor', schedule.finalFactor ?? 0, (v) => v >= 0, '≥ 0');
      return;
    case 'step':
      expectNumber(op, 'schedule.stepSize', schedule.stepSize, positiveInt, 'integer > 0');
      expectNumber(op, 'schedule.gamma', schedule.gamma, (v) => v > 0, '> 0');
      return;
    case 'warmup':
      expectNumber(op, 'schedule.warmupSteps', schedule.warmupSteps, positiveInt, 'integer > 0');
      checkSchedule(schedule.after);
      return;
    default:
      throw new Error(`${op}: expected schedule kind constant|linear|step|warmup, got ${JSON.stringify((schedule as { kind?: unknown })?.kind)}`);
  }
}

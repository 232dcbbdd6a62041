/**
 * LSTM forward steps on the `gpu` backend with the data kept on the device between steps
 * (gpu.js `pipeline: true`: each kernel returns its output texture, which the next kernel reads).
 *
 * GpuLstmRunner, for a fixed (T, B, D, H), gate order [i f g o] = [Γu Γf c̃ Γo] as in layers/cells/lstm.ts:
 *   setWeights: W_x [4H, D], W_a [4H, H], b [1, 4H] are uploaded once and stay resident.
 *   forward:    XP = X·W_xᵀ + b                        [T·B, 4H]  one kernel for all T steps
 *               for t = 1 … T:
 *                 z⟨t⟩ = XP⟨t⟩ + a⟨t−1⟩·W_aᵀ               [B, 4H]
 *                 c⟨t⟩ = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩,  a⟨t⟩ = Γo ∗ tanh(c⟨t⟩)   [B, 2H] = [c | a]
 *               read back a⟨T⟩ and c⟨T⟩ only.
 * The state kernel reads the previous state while writing the next, and a WebGL kernel must not
 * read its own output texture, so two instances of it alternate (ping-pong): no texture is made
 * per step — every texture belongs to a kernel and is reused on each call.
 *
 * GpuLstmGates: the fused gate nonlinearities of one step on their own, for a fixed [B, 4H]:
 *   (z [B, 4H], c⟨t−1⟩ [B, H]) → [Γu Γf c̃ Γo] [B, 4H], c⟨t⟩ [B, H], a⟨t⟩ [B, H]
 * running the same gates/state kernels as the runner (through textures), with one read-back.
 *
 * Both own their kernels: `dispose()` destroys them, which deletes their textures.
 */
import { type Matrix, expectShape, shapeOf } from '../matrix.js';
import type { GpuBackend, GpuKernel } from './backend.js';
import {
  lstmGatesKernel, lstmHelperFunctions, lstmInitStateKernel, lstmInputProjectionKernel,
  lstmRecurrentKernel, lstmStateKernel, uploadKernel,
} from './kernels.js';

export interface GpuLstmRunnerOptions {
  inputSize: number;
  hiddenSize: number;
  /** T: the runner runs sequences of exactly this many steps. */
  steps: number;
  /** B: rows per step. */
  batch: number;
}

/** LSTM weights in layers/cells/lstm.ts' fused layout (an LstmCell's `params` fit). */
export interface GpuLstmWeights {
  /** [4H, D], rows [W_ux; W_fx; W_cx; W_ox]. */
  W_x: Matrix;
  /** [4H, H], rows [W_ua; W_fa; W_ca; W_oa]. */
  W_a: Matrix;
  /** [1, 4H], [b_u, b_f, b_c, b_o]. */
  b: Matrix;
}

/** A device value: a gpu.js texture (WebGL) or rows of a Float32Array (gpu.js' CPU/WebAssembly kernels). */
type DeviceGrid = { toArray(): ArrayLike<ArrayLike<number>> } | ArrayLike<ArrayLike<number>>;

function readGrid(value: unknown): ArrayLike<ArrayLike<number>> {
  const v = value as DeviceGrid;
  return 'toArray' in v && typeof v.toArray === 'function' ? v.toArray() : (v as ArrayLike<ArrayLike<number>>);
}

/** Copy a matrix (any dtype, any stride) into a flat row-major Float32Array staging buffer. */
function stage(out: Float32Array, m: Matrix): Float32Array {
  let i = 0;
  for (let r = 0; r < m.rows; r++) {
    const o = m.offset + r * m.stride;
    for (let c = 0; c < m.cols; c++) out[i++] = m.data[o + c];
  }
  return out;
}

/** out (any stride) = columns [col0, col0 + out.cols) of a device grid's rows. */
function unstage(out: Matrix, rows: ArrayLike<ArrayLike<number>>, col0: number): void {
  for (let r = 0; r < out.rows; r++) {
    const row = rows[r];
    const o = out.offset + r * out.stride;
    for (let c = 0; c < out.cols; c++) out.data[o + c] = row[col0 + c];
  }
}

function expectPositiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be a positive integer, got ${v}`);
}

/** The kernels shared by the runner and the gates op, for one (B, H); created only where used. */
function stepKernel(
  backend: GpuBackend, fn: typeof lstmInitStateKernel | typeof lstmGatesKernel | typeof lstmStateKernel,
  batch: number, hidden: number, width: number,
): GpuKernel {
  return backend.createKernel(fn, {
    output: [width, batch], pipeline: true, constants: { hidden }, functions: lstmHelperFunctions,
    loopMaxIterations: hidden + 1,
  });
}

export class GpuLstmRunner {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly steps: number;
  readonly batch: number;

  private readonly backend: GpuBackend;
  private readonly initState: GpuKernel;
  /** Two instances of the state kernel, alternating by step parity (ping-pong). */
  private readonly state: [GpuKernel, GpuKernel];
  private readonly uploadWx: GpuKernel;
  private readonly uploadWa: GpuKernel;
  private readonly uploadBias: GpuKernel;
  private readonly inputProjection: GpuKernel;
  private readonly recurrent: GpuKernel;
  /** Host staging buffers (allocated once). */
  private readonly xStage: Float32Array;
  private readonly a0Stage: Float32Array;
  private readonly c0Stage: Float32Array;
  private readonly wxStage: Float32Array;
  private readonly waStage: Float32Array;
  private readonly bStage: Float32Array;
  /** The resident weights (textures owned by the upload kernels), null before setWeights. */
  private weights: { wx: unknown; wa: unknown; bias: unknown } | null = null;
  private modesChecked = false;
  private disposed = false;

  constructor(backend: GpuBackend, options: GpuLstmRunnerOptions) {
    const op = 'GpuLstmRunner';
    backend.expectLive(op);
    const { inputSize: D, hiddenSize: H, steps: T, batch: B } = options;
    expectPositiveInt(op, 'inputSize', D);
    expectPositiveInt(op, 'hiddenSize', H);
    expectPositiveInt(op, 'steps', T);
    expectPositiveInt(op, 'batch', B);
    this.backend = backend;
    this.inputSize = D;
    this.hiddenSize = H;
    this.steps = T;
    this.batch = B;
    this.initState = stepKernel(backend, lstmInitStateKernel, B, H, 2 * H);
    this.state = [stepKernel(backend, lstmStateKernel, B, H, 2 * H), stepKernel(backend, lstmStateKernel, B, H, 2 * H)];
    const loopMaxIterations = Math.max(D, H) + 1;
    this.uploadWx = backend.createKernel(uploadKernel, { output: [D, 4 * H], pipeline: true, loopMaxIterations });
    this.uploadWa = backend.createKernel(uploadKernel, { output: [H, 4 * H], pipeline: true, loopMaxIterations });
    this.uploadBias = backend.createKernel(uploadKernel, { output: [4 * H, 1], pipeline: true, loopMaxIterations });
    this.inputProjection = backend.createKernel(lstmInputProjectionKernel, {
      output: [4 * H, T * B], pipeline: true, constants: { inputSize: D }, loopMaxIterations,
    });
    this.recurrent = backend.createKernel(lstmRecurrentKernel, {
      output: [4 * H, B], pipeline: true, constants: { hidden: H }, loopMaxIterations,
    });
    this.xStage = new Float32Array(T * B * D);
    this.a0Stage = new Float32Array(B * H);
    this.c0Stage = new Float32Array(B * H);
    this.wxStage = new Float32Array(4 * H * D);
    this.waStage = new Float32Array(4 * H * H);
    this.bStage = new Float32Array(4 * H);
  }

  /** Upload the weights (call again after they change). Shapes as in `GpuLstmWeights`. */
  setWeights(w: GpuLstmWeights): void {
    const op = 'GpuLstmRunner.setWeights';
    this.expectLive(op);
    const D = this.inputSize, H = this.hiddenSize;
    expectShape(op, 'W_x', w.W_x, 4 * H, D);
    expectShape(op, 'W_a', w.W_a, 4 * H, H);
    expectShape(op, 'b', w.b, 1, 4 * H);
    const up = (kernel: GpuKernel, buf: Float32Array, m: Matrix): unknown => kernel(this.backend.input(stage(buf, m), m.rows, m.cols));
    this.weights = {
      wx: up(this.uploadWx, this.wxStage, w.W_x),
      wa: up(this.uploadWa, this.waStage, w.W_a),
      bias: up(this.uploadBias, this.bStage, w.b),
    };
  }

  /**
   * Run the T steps of x [T·B, D] from a0, c0 ([B, H] each, zeros when null) and write the final
   * a⟨T⟩ and c⟨T⟩ to aOut and cOut ([B, H]). Only the final state is read back from the device.
   */
  forward(aOut: Matrix, cOut: Matrix, x: Matrix, a0: Matrix | null = null, c0: Matrix | null = null): void {
    const op = 'GpuLstmRunner.forward';
    this.expectLive(op);
    if (!this.weights) throw new Error(`${op}: expected setWeights() before forward()`);
    const T = this.steps, B = this.batch, D = this.inputSize, H = this.hiddenSize;
    if (x.rows !== T * B || x.cols !== D) {
      throw new Error(`${op}: expected x [T·B, D] = [${T * B}, ${D}] (T = ${T}, B = ${B}), got ${shapeOf(x)}`);
    }
    expectShape(op, 'aOut', aOut, B, H);
    expectShape(op, 'cOut', cOut, B, H);
    if (a0) expectShape(op, 'a0', a0, B, H);
    if (c0) expectShape(op, 'c0', c0, B, H);

    const be = this.backend;
    const xp = this.inputProjection(be.input(stage(this.xStage, x), T * B, D), this.weights.wx, this.weights.bias);
    let state = this.initState(
      be.input(c0 ? stage(this.c0Stage, c0) : this.c0Stage.fill(0), B, H),
      be.input(a0 ? stage(this.a0Stage, a0) : this.a0Stage.fill(0), B, H),
    );
    for (let t = 0; t < T; t++) {
      const z = this.recurrent(xp, t * B, state, this.weights.wa);
      state = this.state[t % 2](z, state);
    }
    const rows = readGrid(state);
    unstage(cOut, rows, 0);
    unstage(aOut, rows, H);
    this.checkModesOnce();
  }

  /** Destroy the runner's kernels (their textures are deleted). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.weights = null;
    for (const k of this.kernels()) this.backend.destroyKernel(k);
  }

  private kernels(): GpuKernel[] {
    return [this.initState, ...this.state, this.uploadWx, this.uploadWa, this.uploadBias, this.inputProjection, this.recurrent];
  }

  private checkModesOnce(): void {
    if (this.modesChecked) return;
    this.modesChecked = true;
    const ran = [this.initState, this.state[0], this.uploadWx, this.uploadWa, this.uploadBias, this.inputProjection, this.recurrent];
    if (this.steps > 1) ran.push(this.state[1]);
    for (const k of ran) this.backend.checkKernelMode(k, 'LSTM runner');
  }

  private expectLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the runner was disposed`);
    this.backend.expectLive(op);
  }
}

export class GpuLstmGates {
  readonly batch: number;
  readonly hiddenSize: number;

  private readonly backend: GpuBackend;
  private readonly initState: GpuKernel;
  private readonly gates: GpuKernel;
  private readonly state: GpuKernel;
  private readonly uploadZ: GpuKernel;
  private readonly zStage: Float32Array;
  private readonly cStage: Float32Array;
  private readonly zeros: Float32Array;
  private modesChecked = false;
  private disposed = false;

  constructor(backend: GpuBackend, batch: number, hiddenSize: number) {
    const op = 'GpuLstmGates';
    backend.expectLive(op);
    expectPositiveInt(op, 'batch', batch);
    expectPositiveInt(op, 'hiddenSize', hiddenSize);
    this.backend = backend;
    this.batch = batch;
    this.hiddenSize = hiddenSize;
    const H = hiddenSize;
    this.initState = stepKernel(backend, lstmInitStateKernel, batch, H, 2 * H);
    this.gates = stepKernel(backend, lstmGatesKernel, batch, H, 4 * H);
    this.state = stepKernel(backend, lstmStateKernel, batch, H, 2 * H);
    this.uploadZ = backend.createKernel(uploadKernel, { output: [4 * H, batch], pipeline: true, loopMaxIterations: H + 1 });
    this.zStage = new Float32Array(batch * 4 * H);
    this.cStage = new Float32Array(batch * H);
    this.zeros = new Float32Array(batch * H);
  }

  /**
   * From z [B, 4H] (pre-activations, gate order [i f g o]) and c⟨t−1⟩ [B, H]:
   *   gates = [Γu Γf c̃ Γo] = [σ(z_i) σ(z_f) tanh(z_g) σ(z_o)]   [B, 4H]
   *   c⟨t⟩ = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩,  a⟨t⟩ = Γo ∗ tanh(c⟨t⟩)      [B, H] each
   */
  forward(gatesOut: Matrix, cOut: Matrix, aOut: Matrix, z: Matrix, cPrev: Matrix): void {
    const op = 'GpuLstmGates.forward';
    if (this.disposed) throw new Error(`${op}: disposed`);
    this.backend.expectLive(op);
    const B = this.batch, H = this.hiddenSize;
    expectShape(op, 'gatesOut', gatesOut, B, 4 * H);
    expectShape(op, 'cOut', cOut, B, H);
    expectShape(op, 'aOut', aOut, B, H);
    expectShape(op, 'z', z, B, 4 * H);
    expectShape(op, 'cPrev', cPrev, B, H);
    const be = this.backend;
    const zGrid = this.uploadZ(be.input(stage(this.zStage, z), B, 4 * H));
    const prev = this.initState(be.input(stage(this.cStage, cPrev), B, H), be.input(this.zeros, B, H));
    unstage(gatesOut, readGrid(this.gates(zGrid)), 0);
    const rows = readGrid(this.state(zGrid, prev));
    unstage(cOut, rows, 0);
    unstage(aOut, rows, H);
    if (!this.modesChecked) {
      this.modesChecked = true;
      for (const k of this.kernels()) {
        this.backend.checkKernelMode(k, 'LSTM gates');
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.kernels()) this.backend.destroyKernel(k);
  }

  private kernels(): GpuKernel[] {
    return [this.uploadZ, this.initState, this.gates, this.state];
  }
}

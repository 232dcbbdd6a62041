/**
 * Layer-normalised recurrent cells (Ba, Kiros & Hinton 2016, "Layer Normalization", §3.1 and the
 * LSTM equations of its §6.1): the summed inputs of the gates are normalised per sequence row, the
 * input and the recurrent path separately, each over all the gates' units together (as the paper's
 * LN(W_h h⟨t−1⟩) over the whole 4H vector, and PyTorch's LayerNormLSTMCell in
 * benchmarks/fastrnns/custom_lstms.py); layers/norm.ts computes each LN (biased variance, ε = 1e−5):
 *   LN(v; γ, β) = γ ∗ (v − μ(v)) / √(σ²(v) + ε) + β
 *
 * LSTM (`createCell('lstm', { layerNorm: true })`), gate order [Γu Γf c̃ Γo] as lstm.ts:
 *   z⟨t⟩ = LN(W_x x⟨t⟩; γ_i, β_i) + LN(W_a a⟨t−1⟩; γ_h, β_h) + b          [B, 4H]
 *   Γu, Γf, Γo = σ(z_u), σ(z_f), σ(z_o);   c̃⟨t⟩ = tanh(z_c)
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + Γf ∗ c⟨t−1⟩
 *   a⟨t⟩ = Γo ∗ tanh(LN(c⟨t⟩; γ_c, β_c))                                     (c⟨t⟩ itself is carried)
 * GRU (`createCell('gru-reset-after', { layerNorm: true })`), gate order [r z n] as gru-reset-after.ts:
 *   u = LN(W_x x⟨t⟩; γ_i, β_i) + b,   v = LN(W_a a⟨t−1⟩; γ_h, β_h) + b_a  [B, 3H]
 *   r = σ(u_r + v_r),  z = σ(u_z + v_z),  n = tanh(u_n + r ∗ v_n),  a⟨t⟩ = (1 − z) ∗ n + z ∗ a⟨t−1⟩
 *
 * Parameters (PyTorch-style names, custom_lstms.py's LayerNormLSTMCell): W_x, W_a, b (and b_a) as the
 * plain cells; `layernorm_i.weight`/`.bias` [1, G] (γ_i, β_i), `layernorm_h.weight`/`.bias` [1, G]
 * (γ_h, β_h) and, for the LSTM, `layernorm_c.weight`/`.bias` [1, H]; gains start at 1, LN biases at 0.
 * b comes after the normalisation (where the paper puts it), so the cell `ownsBias`: the runner gives
 * it xp = W_x x⟨t⟩ and leaves db to stepBackward. `forgetBias` sets the Γf block of b.
 *
 * Backward (LN's backward is layers/norm.ts': dv = (1/σ)(g − mean(g) − v̂ ∗ mean(g ∗ v̂)), g = dy ∗ γ):
 *   LSTM, from da⟨t⟩, dc⟨t⟩ with ℓ = LN(c⟨t⟩):
 *     dz_o = da ∗ tanh(ℓ) ∗ Γo(1 − Γo);    dℓ = da ∗ Γo ∗ (1 − tanh²(ℓ))
 *     dc = dc⟨t⟩ + LN_c⁻ᵀ(dℓ)   (dγ_c += Σ dℓ ∗ ĉ, dβ_c += Σ dℓ)
 *     dz_u = dc ∗ c̃ ∗ Γu(1 − Γu);  dz_f = dc ∗ c⟨t−1⟩ ∗ Γf(1 − Γf);  dz_c = dc ∗ Γu ∗ (1 − c̃²);  dc⟨t−1⟩ = dc ∗ Γf
 *   GRU, from da⟨t⟩:
 *     dn = da ∗ (1 − z);  dz_z = da ∗ (a⟨t−1⟩ − n) ∗ z(1 − z);  dz_n = dn ∗ (1 − n²)
 *     du = [dz_r, dz_z, dz_n],  dv = [dz_r, dz_z, dz_n ∗ r],  dz_r = dz_n ∗ v_n ∗ r(1 − r);  da⟨t−1⟩ ∋ da ∗ z
 *   both: db += Σ dz (du for the GRU, db_a += Σ dv); dxp = LN_i⁻ᵀ(dz), dhp = LN_h⁻ᵀ(dz or dv)
 *         (dγ, dβ accumulated); da⟨t−1⟩ (+)= dhp·W_a; dW_a += dHPᵀ·A_prev after the time loop.
 * Caches per step (allocated once per (T, B)): the activated gates, the three LNs' x̂ and 1/σ
 * (layers/norm.ts workspaces), dhp; the LSTM's tanh(ℓ), the GRU's v_n. Plain JS loops (no backend kernels).
 */
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import { Matrix, copyInto, stepView, zero, type DType } from '../../engine/matrix.js';
import { sumRows } from '../../engine/ops.js';
import {
  createLayerNormWorkspace, layerNormBackward, layerNormForward, type LayerNorm, type LayerNormWorkspace,
} from '../norm.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams, stepPrefix,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';

const LN_EPS = 1e-5;

export interface LayerNormCellOptions extends CellOptions {
  /** LSTM: b_f after initialisation. */
  forgetBias?: number;
}

export interface LayerNormCellWorkspace extends CellWorkspace {
  /** Activated gates of step t [B, G]. */
  readonly gates: Matrix[];
  /** Per step: the LN workspaces of the input path, the recurrent path and (LSTM) c⟨t⟩. */
  readonly lnInput: LayerNormWorkspace[];
  readonly lnRecurrent: LayerNormWorkspace[];
  readonly lnCell: LayerNormWorkspace[];
  /** LSTM: tanh(LN(c⟨t⟩)) [B, H]; GRU: v_n = LN_h(W_a a⟨t−1⟩)_n + b_an [B, H]. */
  readonly extra: Matrix[];
  /** ∂L/∂(a⟨t−1⟩·W_aᵀ) of step t [B, G]: row blocks of dhpAll (for dW_a after the loop). */
  readonly dhp: Matrix[];
  readonly dhpAll: Matrix;
  readonly dhpPrefix: (Matrix | undefined)[];
  /** One-step scratch: the LN'd input path u [B, G], dz [B, G] (GRU: du), dv [B, G] (GRU), [B, H] for c. */
  readonly u: Matrix;
  readonly dz: Matrix;
  readonly dv: Matrix;
  readonly scratchH: Matrix;
  readonly dScratchH: Matrix;
}

/** A LayerNorm (layers/norm.ts) over `dim` features whose γ, β are the cell's own parameter entries. */
function cellNorm(params: Record<string, Matrix>, grads: Record<string, Matrix>, name: string, dtype: DType): LayerNorm {
  const weight = params[`${name}.weight`];
  weight.data.fill(1);
  return {
    dim: weight.cols, eps: LN_EPS, dtype,
    params: { weight, bias: params[`${name}.bias`] },
    grads: { weight: grads[`${name}.weight`], bias: grads[`${name}.bias`] },
  };
}

abstract class LayerNormCellBase implements RecurrentCell<LayerNormCellWorkspace> {
  abstract readonly kind: 'lstm' | 'gru-reset-after';
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  abstract readonly stateCount: 1 | 2;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;
  readonly ownsBias = true;
  protected readonly normInput: LayerNorm;
  protected readonly normRecurrent: LayerNorm;
  protected readonly normCell: LayerNorm | null;

  constructor(op: string, kind: 'lstm' | 'gru-reset-after', gates: number, opts: LayerNormCellOptions) {
    const dtype = checkCellOptions(op, opts);
    const { inputSize: D, hiddenSize: H } = opts;
    const G = gates * H;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = G;
    this.dtype = dtype;
    this.config = { kind, inputSize: D, hiddenSize: H, dtype, layerNorm: true };
    const shapes: Record<string, [number, number]> = { W_x: [G, D], W_a: [G, H], b: [1, G] };
    if (kind === 'gru-reset-after') shapes.b_a = [1, G];
    const { params, grads } = allocateParams(shapes, dtype);
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
    const norms: Record<string, [number, number]> = {
      'layernorm_i.weight': [1, G], 'layernorm_i.bias': [1, G], 'layernorm_h.weight': [1, G], 'layernorm_h.bias': [1, G],
    };
    if (kind === 'lstm') Object.assign(norms, { 'layernorm_c.weight': [1, H], 'layernorm_c.bias': [1, H] });
    const ln = allocateParams(norms, dtype);
    this.params = { ...params, ...ln.params };
    this.grads = { ...grads, ...ln.grads };
    this.normInput = cellNorm(this.params, this.grads, 'layernorm_i', dtype);
    this.normRecurrent = cellNorm(this.params, this.grads, 'layernorm_h', dtype);
    this.normCell = kind === 'lstm' ? cellNorm(this.params, this.grads, 'layernorm_c', dtype) : null;
    if (opts.forgetBias !== undefined) {
      if (kind !== 'lstm') throw new Error(`${op}: forgetBias is for LSTMs, got kind '${kind}'`);
      if (!Number.isFinite(opts.forgetBias)) throw new Error(`${op}: expected a finite forgetBias, got ${opts.forgetBias}`);
      this.params.b.data.fill(opts.forgetBias, this.params.b.offset + H, this.params.b.offset + 2 * H);
    }
  }

  createWorkspace(steps: number, batch: number): LayerNormCellWorkspace {
    const { gateWidth: G, hiddenSize: H, dtype } = this;
    const gatesAll = Matrix.zeros(steps * batch, G, dtype);
    const extraAll = Matrix.zeros(steps * batch, H, dtype);
    const dhpAll = Matrix.zeros(steps * batch, G, dtype);
    const perStep = <X>(f: (t: number) => X): X[] => Array.from({ length: steps }, (_, t) => f(t));
    return {
      steps, batch,
      gates: perStep((t) => stepView(gatesAll, t, batch)),
      lnInput: perStep(() => createLayerNormWorkspace(this.normInput, batch)),
      lnRecurrent: perStep(() => createLayerNormWorkspace(this.normRecurrent, batch)),
      lnCell: this.normCell ? perStep(() => createLayerNormWorkspace(this.normCell as LayerNorm, batch)) : [],
      extra: perStep((t) => stepView(extraAll, t, batch)),
      dhp: perStep((t) => stepView(dhpAll, t, batch)),
      dhpAll,
      dhpPrefix: [],
      u: Matrix.zeros(batch, G, dtype),
      dz: Matrix.zeros(batch, G, dtype),
      dv: Matrix.zeros(batch, G, dtype),
      scratchH: Matrix.zeros(batch, H, dtype),
      dScratchH: Matrix.zeros(batch, H, dtype),
    };
  }

  /** u = LN_i(xp) into ws.u; the recurrent path's LN_h(a⟨t−1⟩·W_aᵀ) into ws.gates[t] (activated by the subclass). */
  protected normalizePaths(ws: LayerNormCellWorkspace, t: number, xp: Matrix, aPrev: Matrix): void {
    const g = ws.gates[t];
    layerNormForward(ws.u, ws.lnInput[t], xp);
    gemm(g, aPrev, this.params.W_a, false, true, 1, 0);
    layerNormForward(g, ws.lnRecurrent[t], g); // in place (layers/norm.ts allows y = x)
  }

  /**
   * From dz (input path) and dv (recurrent path), [B, G]: db (+ db_a), dxp = LN_i⁻ᵀ(dz),
   * dhp = LN_h⁻ᵀ(dv), and dPrev[0] = dhp·W_a (+ what the subclass already put there when `accumulate`).
   */
  protected backwardPaths(ws: LayerNormCellWorkspace, t: number, dz: Matrix, dv: Matrix, dxp: Matrix, dPrev0: Matrix, accumulate: boolean): void {
    sumRows(this.grads.b, dz, true);
    if (this.grads.b_a) sumRows(this.grads.b_a, dv, true);
    zero(dxp);
    layerNormBackward(dxp, ws.lnInput[t], dz);
    const dhp = ws.dhp[t];
    zero(dhp);
    layerNormBackward(dhp, ws.lnRecurrent[t], dv);
    gemm(dPrev0, dhp, this.params.W_a, false, false, 1, accumulate ? 1 : 0);
  }

  abstract stepForward(ws: LayerNormCellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void;
  abstract stepBackward(
    ws: LayerNormCellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void;

  /** dW_a += dHPᵀ·A_prev over all T·B rows. */
  accumulateRecurrentGrads(ws: LayerNormCellWorkspace, steps: number, _dxp: Matrix, prevStates: readonly Matrix[]): void {
    gemmTransAccumulate(this.grads.W_a, stepPrefix(ws.dhpPrefix, ws.dhpAll, steps, ws.batch), prevStates[0]);
  }
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** The layer-normalised LSTM (equations in the header). State [a, c]. */
export class LayerNormLstmCell extends LayerNormCellBase {
  readonly kind = 'lstm' as const;
  readonly stateCount = 2 as const;

  constructor(opts: LayerNormCellOptions) {
    super('createLstmCell (layerNorm)', 'lstm', 4, opts);
  }

  stepForward(ws: LayerNormCellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('lstm (layerNorm).stepForward', this, ws, t, xp, prev, next);
    this.normalizePaths(ws, t, xp, prev[0]);
    const H = this.hiddenSize, g = ws.gates[t], u = ws.u, b = this.params.b, cPrev = prev[1], c = next[1];
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, uo = u.offset + r * u.stride;
      const po = cPrev.offset + r * cPrev.stride, co = c.offset + r * c.stride;
      for (let j = 0; j < 4 * H; j++) {
        const z = g.data[go + j] + u.data[uo + j] + b.data[b.offset + j];
        g.data[go + j] = j >= 2 * H && j < 3 * H ? Math.tanh(z) : sigmoid(z);
      }
      for (let j = 0; j < H; j++) c.data[co + j] = g.data[go + j] * g.data[go + 2 * H + j] + g.data[go + H + j] * cPrev.data[po + j];
    }
    const ell = ws.scratchH, tl = ws.extra[t], a = next[0];
    layerNormForward(ell, ws.lnCell[t], c);
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, eo = ell.offset + r * ell.stride, to = tl.offset + r * tl.stride, ao = a.offset + r * a.stride;
      for (let j = 0; j < H; j++) {
        const th = Math.tanh(ell.data[eo + j]);
        tl.data[to + j] = th;
        a.data[ao + j] = g.data[go + 3 * H + j] * th;
      }
    }
  }

  stepBackward(
    ws: LayerNormCellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void {
    checkStepShapes('lstm (layerNorm).stepBackward', this, ws, t, dxp, dNext, dPrev, prev, next);
    const H = this.hiddenSize, g = ws.gates[t], tl = ws.extra[t], dz = ws.dz;
    const da = dNext[0], dcNext = dNext[1], cPrev = prev[1], dcPrev = dPrev[1];
    const dEll = ws.scratchH, dc = ws.dScratchH;
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, to = tl.offset + r * tl.stride, dao = da.offset + r * da.stride;
      const eo = dEll.offset + r * dEll.stride, zo = dz.offset + r * dz.stride;
      for (let j = 0; j < H; j++) {
        const o = g.data[go + 3 * H + j], th = tl.data[to + j], dA = da.data[dao + j];
        dz.data[zo + 3 * H + j] = dA * th * o * (1 - o);
        dEll.data[eo + j] = dA * o * (1 - th * th);
      }
    }
    copyInto(dc, dcNext);
    layerNormBackward(dc, ws.lnCell[t], dEll); // dc = dc⟨t⟩ + LN_c⁻ᵀ(dℓ)
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, co = dc.offset + r * dc.stride, po = cPrev.offset + r * cPrev.stride;
      const zo = dz.offset + r * dz.stride, qo = dcPrev.offset + r * dcPrev.stride;
      for (let j = 0; j < H; j++) {
        const gu = g.data[go + j], gf = g.data[go + H + j], cc = g.data[go + 2 * H + j], d = dc.data[co + j];
        dz.data[zo + j] = d * cc * gu * (1 - gu);
        dz.data[zo + H + j] = d * cPrev.data[po + j] * gf * (1 - gf);
        dz.data[zo + 2 * H + j] = d * gu * (1 - cc * cc);
        dcPrev.data[qo + j] = d * gf;
      }
    }
    this.backwardPaths(ws, t, dz, dz, dxp, dPrev[0], false);
  }
}

/** The layer-normalised reset-after GRU (equations in the header). State [a]. */
export class LayerNormGruCell extends LayerNormCellBase {
  readonly kind = 'gru-reset-after' as const;
  readonly stateCount = 1 as const;

  constructor(opts: LayerNormCellOptions) {
    super('createResetAfterGruCell (layerNorm)', 'gru-reset-after', 3, opts);
  }

  stepForward(ws: LayerNormCellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('gru-reset-after (layerNorm).stepForward', this, ws, t, xp, prev, next);
    this.normalizePaths(ws, t, xp, prev[0]);
    const H = this.hiddenSize, g = ws.gates[t], u = ws.u, vn = ws.extra[t];
    const b = this.params.b, ba = this.params.b_a, aPrev = prev[0], a = next[0];
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, uo = u.offset + r * u.stride, vo = vn.offset + r * vn.stride;
      const po = aPrev.offset + r * aPrev.stride, ao = a.offset + r * a.stride;
      for (let j = 0; j < 2 * H; j++) {
        g.data[go + j] = sigmoid(u.data[uo + j] + b.data[b.offset + j] + g.data[go + j] + ba.data[ba.offset + j]);
      }
      for (let j = 0; j < H; j++) {
        const v = g.data[go + 2 * H + j] + ba.data[ba.offset + 2 * H + j];
        vn.data[vo + j] = v;
        const n = Math.tanh(u.data[uo + 2 * H + j] + b.data[b.offset + 2 * H + j] + g.data[go + j] * v);
        g.data[go + 2 * H + j] = n;
        const z = g.data[go + H + j];
        a.data[ao + j] = (1 - z) * n + z * aPrev.data[po + j];
      }
    }
  }

  stepBackward(
    ws: LayerNormCellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void {
    checkStepShapes('gru-reset-after (layerNorm).stepBackward', this, ws, t, dxp, dNext, dPrev, prev, next);
    const H = this.hiddenSize, g = ws.gates[t], vn = ws.extra[t], du = ws.dz, dv = ws.dv;
    const da = dNext[0], aPrev = prev[0], daPrev = dPrev[0];
    for (let r = 0; r < g.rows; r++) {
      const go = g.offset + r * g.stride, vo = vn.offset + r * vn.stride, dao = da.offset + r * da.stride;
      const po = aPrev.offset + r * aPrev.stride, uo = du.offset + r * du.stride, wo = dv.offset + r * dv.stride;
      const qo = daPrev.offset + r * daPrev.stride;
      for (let j = 0; j < H; j++) {
        const rr = g.data[go + j], z = g.data[go + H + j], n = g.data[go + 2 * H + j], dA = da.data[dao + j];
        const dzn = dA * (1 - z) * (1 - n * n);
        const dzr = dzn * vn.data[vo + j] * rr * (1 - rr);
        const dzz = dA * (aPrev.data[po + j] - n) * z * (1 - z);
        du.data[uo + j] = dzr;
        du.data[uo + H + j] = dzz;
        du.data[uo + 2 * H + j] = dzn;
        dv.data[wo + j] = dzr;
        dv.data[wo + H + j] = dzz;
        dv.data[wo + 2 * H + j] = dzn * rr;
        daPrev.data[qo + j] = dA * z;
      }
    }
    this.backwardPaths(ws, t, du, dv, dxp, daPrev, true);
  }
}

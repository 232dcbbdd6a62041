/**
 * Gated recurrent units (Cho et al. 2014) in three variants. The notes write the state as c⟨t⟩
 * (= a⟨t⟩, the output); here it is the single state a.
 *
 * 1. 'gru' — the notes' full GRU (reset before the matmul):
 *      Γr = σ(W_r[c⟨t−1⟩, x⟨t⟩] + b_r)
 *      Γu = σ(W_u[c⟨t−1⟩, x⟨t⟩] + b_u)
 *      c̃⟨t⟩ = tanh(W_c[Γr ∗ c⟨t−1⟩, x⟨t⟩] + b_c)
 *      c⟨t⟩ = Γu ∗ c̃⟨t⟩ + (1 − Γu) ∗ c⟨t−1⟩
 *    Fused layout, rows in blocks of H: W_x [3H, D] = [W_rx; W_ux; W_cx], W_a [3H, H] =
 *    [W_ra; W_ua; W_ca], b [1, 3H] = [b_r, b_u, b_c] (block positions of PyTorch's [r z n]).
 *    This is Keras' GRU with reset_after=False under Γu = 1 − z: since 1 − σ(v) = σ(−v), load
 *    Keras' z block negated (kernel, recurrent_kernel and bias); Keras orders columns [z r h].
 *
 * 2. 'gru-simple' — the notes' simplified GRU (update gate only; Γr ≡ 1):
 *      Γu = σ(W_u[c⟨t−1⟩, x⟨t⟩] + b_u);  c̃⟨t⟩ = tanh(W_c[c⟨t−1⟩, x⟨t⟩] + b_c)
 *      c⟨t⟩ = Γu ∗ c̃⟨t⟩ + (1 − Γu) ∗ c⟨t−1⟩
 *    Fused layout (no framework has it): W_x [2H, D] = [W_ux; W_cx], W_a [2H, H] = [W_ua; W_ca],
 *    b [1, 2H] = [b_u, b_c].
 *
 * 3. 'gru-reset-after' — PyTorch's nn.GRU and Keras' default (reset_after=True):
 *      r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *      n = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn)),  h′ = (1 − z) ∗ n + z ∗ h
 *    Fused layout = PyTorch's, so interchange is a copy: W_x [3H, D] rows [r z n] = weight_ih_l0,
 *    W_a [3H, H] rows [r z n] = weight_hh_l0, b [1, 3H] = bias_ih_l0, b_a [1, 3H] = bias_hh_l0
 *    (two biases: b_hn sits inside r ∗ (…), so it cannot be merged into b_in). Keras reset_after=True:
 *    columns [z r h] → reorder to [r z n]; bias row 0 → b, row 1 → b_a; no negation (z is z).
 *
 * Each step: one GEMM with W_a for the gates that see c⟨t−1⟩ (the full GRU needs a second one for
 * c̃, which sees Γr ∗ c⟨t−1⟩), then one fused loop — for the reset-after GRU the backend seam's
 * `gruGatesForward` / `gruGatesBackward` kernels (engine/gates-js.ts; WebAssembly SIMD on 'wasm').
 * Caches are allocated once per (T, B).
 */
import { gruGatesBackwardKernel, gruGatesForwardKernel } from '../../engine/backend.js';
import { gemm } from '../../engine/gemm.js';
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import { sumRows } from '../../engine/ops.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';
import { sigmoidScalar as sigmoid } from '../../engine/activations.js';

export type GruVariant = 'full' | 'simple';

export interface GruCellOptions extends CellOptions {
  /** 'full' (default): the notes' GRU with Γr; 'simple': update gate only. */
  variant?: GruVariant;
  /** PyTorch/Keras reset-after GRU (only with variant 'full'). */
  resetAfter?: boolean;
}

interface GruWorkspace extends CellWorkspace {
  /** Activated gates of step t: [Γr Γu c̃] (full), [Γu c̃] (simple), [r z n] (reset-after). */
  readonly gates: Matrix[];
  /** Full: Γr ∗ c⟨t−1⟩ of step t [B, H]. Reset-after: W_hn h + b_hn of step t [B, H]. Simple: unused. */
  readonly aux: Matrix[];
  /** One-step scratch [B, 3H]: reset-after's recurrent pre-activation / its gradient. */
  readonly scratch: Matrix;
  /** Full GRU: per-step views of the gates' [Γr Γu] columns and c̃ column (precomputed: no allocation per step). */
  readonly gatesRU: Matrix[];
  readonly gatesC: Matrix[];
  /** Full GRU, one-step scratch: ∂L/∂(Γr ∗ c⟨t−1⟩) [B, H], dz for [Γr Γu] [B, 2H] and for c̃ [B, H]. */
  readonly dResetState: Matrix;
  readonly dzRU: Matrix;
  readonly dzC: Matrix;
}

export class GruCell implements RecurrentCell {
  readonly kind: 'gru' | 'gru-simple' | 'gru-reset-after';
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 1 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;
  /** Full GRU: row blocks of W_a (and its gradient) for [Γr Γu] and for c̃. */
  private readonly wGates: Matrix;
  private readonly wCand: Matrix;
  private readonly dwGates: Matrix;
  private readonly dwCand: Matrix;

  constructor(opts: GruCellOptions) {
    const op = 'createGruCell';
    const dtype = checkCellOptions(op, opts);
    const variant = opts.variant ?? 'full';
    if (variant !== 'full' && variant !== 'simple') throw new Error(`${op}: expected variant 'full' or 'simple', got '${variant as string}'`);
    const resetAfter = opts.resetAfter === true;
    if (resetAfter && variant === 'simple') throw new Error(`${op}: expected resetAfter only with the full GRU, got variant 'simple'`);
    this.kind = variant === 'simple' ? 'gru-simple' : resetAfter ? 'gru-reset-after' : 'gru';
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    const G = variant === 'simple' ? 2 * H : 3 * H;
    this.gateWidth = G;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    const shapes: Record<string, [number, number]> = { W_x: [G, D], W_a: [G, H], b: [1, G] };
    if (resetAfter) shapes.b_a = [1, G];
    const { params, grads } = allocateParams(shapes, dtype);
    this.params = params;
    this.grads = grads;
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
    this.wGates = params.W_a.rowView(0, 2 * H);
    this.dwGates = grads.W_a.rowView(0, 2 * H);
    this.wCand = params.W_a.rowView(variant === 'simple' ? H : 2 * H, H);
    this.dwCand = grads.W_a.rowView(variant === 'simple' ? H : 2 * H, H);
  }

  createWorkspace(steps: number, batch: number): GruWorkspace {
    const H = this.hiddenSize;
    const gatesAll = Matrix.zeros(steps * batch, this.gateWidth, this.dtype);
    const auxAll = Matrix.zeros(this.kind === 'gru-simple' ? 0 : steps * batch, H, this.dtype);
    const gates: Matrix[] = [];
    const aux: Matrix[] = [];
    const gatesRU: Matrix[] = [];
    const gatesC: Matrix[] = [];
    for (let t = 0; t < steps; t++) {
      const g = stepView(gatesAll, t, batch);
      gates.push(g);
      aux.push(this.kind === 'gru-simple' ? auxAll : stepView(auxAll, t, batch));
      if (this.kind === 'gru') {
        gatesRU.push(g.colView(0, 2 * H));
        gatesC.push(g.colView(2 * H, H));
      }
    }
    const full = this.kind === 'gru';
    return {
      steps, batch, gates, aux, gatesRU, gatesC,
      scratch: Matrix.zeros(this.kind === 'gru-reset-after' ? batch : 0, 3 * H, this.dtype),
      dResetState: Matrix.zeros(full ? batch : 0, H, this.dtype),
      dzRU: Matrix.zeros(full ? batch : 0, 2 * H, this.dtype),
      dzC: Matrix.zeros(full ? batch : 0, H, this.dtype),
    };
  }

  stepForward(wsIn: CellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('gru.stepForward', this, wsIn, t, xp, [prev, next]);
    const ws = wsIn as GruWorkspace;
    if (this.kind === 'gru') this.fullForward(ws, t, xp, prev[0], next[0]);
    else if (this.kind === 'gru-simple') this.simpleForward(ws, t, xp, prev[0], next[0]);
    else this.resetAfterForward(ws, t, xp, prev[0], next[0]);
  }

  stepBackward(
    wsIn: CellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], _next: readonly Matrix[],
  ): void {
    checkStepShapes('gru.stepBackward', this, wsIn, t, dxp, [dNext, dPrev, prev, _next]);
    const ws = wsIn as GruWorkspace;
    if (this.kind === 'gru') this.fullBackward(ws, t, dNext[0], dxp, dPrev[0], prev[0]);
    else if (this.kind === 'gru-simple') this.simpleBackward(ws, t, dNext[0], dxp, dPrev[0], prev[0]);
    else this.resetAfterBackward(ws, t, dNext[0], dxp, dPrev[0], prev[0]);
  }

  // ---- the notes' full GRU ------------------------------------------------------------------

  /**
   * [z_r z_u] = xp[:, 0:2H] + c⟨t−1⟩·[W_ra; W_ua]ᵀ;  Γr, Γu = σ(…);  rc = Γr ∗ c⟨t−1⟩ [B, H]
   * z_c = xp[:, 2H:3H] + rc·W_caᵀ;  c̃ = tanh(z_c);  c⟨t⟩ = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩
   */
  private fullForward(ws: GruWorkspace, t: number, xp: Matrix, cPrev: Matrix, c: Matrix): void {
    const H = this.hiddenSize;
    const gates = ws.gates[t], rc = ws.aux[t];
    gemm(ws.gatesRU[t], cPrev, this.wGates, false, true, 1, 0);
    const gd = gates.data, xd = xp.data, pd = cPrev.data, rd = rc.data, cd = c.data;
    const B = gates.rows;
    for (let b = 0; b < B; b++) {
      const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
      const po = cPrev.offset + b * cPrev.stride, ro = rc.offset + b * rc.stride;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(gd[go + j] + xd[xo + j]);
        gd[go + j] = r;
        gd[go + H + j] = sigmoid(gd[go + H + j] + xd[xo + H + j]);
        rd[ro + j] = r * pd[po + j];
      }
    }
    gemm(ws.gatesC[t], rc, this.wCand, false, true, 1, 0);
    for (let b = 0; b < B; b++) {
      const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
      const po = cPrev.offset + b * cPrev.stride, co = c.offset + b * c.stride;
      for (let j = 0; j < H; j++) {
        const cand = Math.tanh(gd[go + 2 * H + j] + xd[xo + 2 * H + j]);
        gd[go + 2 * H + j] = cand;
        const u = gd[go + H + j];
        cd[co + j] = u * cand + (1 - u) * pd[po + j];
      }
    }
  }

  /**
   * From dc = ∂L/∂c⟨t⟩:  dz_c = dc ∗ Γu ∗ (1 − c̃²);  dz_u = dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu)
   * dW_ca += dz_cᵀ·rc;  drc = dz_c·W_ca;  dz_r = drc ∗ c⟨t−1⟩ ∗ Γr(1 − Γr)
   * dc⟨t−1⟩ = dc ∗ (1 − Γu) + drc ∗ Γr + [dz_r dz_u]·[W_ra; W_ua];  d[W_ra; W_ua] += [dz_r dz_u]ᵀ·c⟨t−1⟩
   */
  private fullBackward(ws: GruWorkspace, t: number, dc: Matrix, dxp: Matrix, dcPrev: Matrix, cPrev: Matrix): void {
    const H = this.hiddenSize;
    const gates = ws.gates[t], rc = ws.aux[t], drc = ws.dResetState, dzRU = ws.dzRU, dzC = ws.dzC;
    const gd = gates.data, pd = cPrev.data, dd = dc.data, qd = dcPrev.data, drd = drc.data;
    const rud = dzRU.data, ccd = dzC.data;
    const B = gates.rows;
    for (let b = 0; b < B; b++) {
      const go = gates.offset + b * gates.stride, po = cPrev.offset + b * cPrev.stride;
      const d = dc.offset + b * dc.stride, q = dcPrev.offset + b * dcPrev.stride;
      const ro = b * 2 * H, co = b * H;
      for (let j = 0; j < H; j++) {
        const u = gd[go + H + j], cand = gd[go + 2 * H + j];
        const g = dd[d + j];
        ccd[co + j] = g * u * (1 - cand * cand);
        rud[ro + H + j] = g * (cand - pd[po + j]) * u * (1 - u);
        qd[q + j] = g * (1 - u);
      }
    }
    gemm(this.dwCand, dzC, rc, true, false, 1, 1);
    gemm(drc, dzC, this.wCand, false, false, 1, 0);
    const zd = dxp.data;
    for (let b = 0; b < B; b++) {
      const go = gates.offset + b * gates.stride, po = cPrev.offset + b * cPrev.stride;
      const q = dcPrev.offset + b * dcPrev.stride, zo = dxp.offset + b * dxp.stride;
      const ro = b * 2 * H, co = b * H;
      for (let j = 0; j < H; j++) {
        const r = gd[go + j], g = drd[co + j];
        const dzr = g * pd[po + j] * r * (1 - r);
        rud[ro + j] = dzr;
        qd[q + j] += g * r;
        zd[zo + j] = dzr;
        zd[zo + H + j] = rud[ro + H + j];
        zd[zo + 2 * H + j] = ccd[co + j];
      }
    }
    gemm(this.dwGates, dzRU, cPrev, true, false, 1, 1);
    gemm(dcPrev, dzRU, this.wGates, false, false, 1, 1);
  }

  // ---- the simplified GRU -------------------------------------------------------------------

  /** [z_u z_c] = xp + c⟨t−1⟩·W_aᵀ;  Γu = σ(z_u), c̃ = tanh(z_c);  c⟨t⟩ = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩ */
  private simpleForward(ws: GruWorkspace, t: number, xp: Matrix, cPrev: Matrix, c: Matrix): void {
    const H = this.hiddenSize;
    const gates = ws.gates[t];
    gemm(gates, cPrev, this.params.W_a, false, true, 1, 0);
    const gd = gates.data, xd = xp.data, pd = cPrev.data, cd = c.data;
    for (let b = 0; b < gates.rows; b++) {
      const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
      const po = cPrev.offset + b * cPrev.stride, co = c.offset + b * c.stride;
      for (let j = 0; j < H; j++) {
        const u = sigmoid(gd[go + j] + xd[xo + j]);
        const cand = Math.tanh(gd[go + H + j] + xd[xo + H + j]);
        gd[go + j] = u;
        gd[go + H + j] = cand;
        cd[co + j] = u * cand + (1 - u) * pd[po + j];
      }
    }
  }

  /**
   * dz_u = dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu);  dz_c = dc ∗ Γu ∗ (1 − c̃²)
   * dc⟨t−1⟩ = dc ∗ (1 − Γu) + [dz_u dz_c]·W_a;  dW_a += [dz_u dz_c]ᵀ·c⟨t−1⟩
   */
  private simpleBackward(ws: GruWorkspace, t: number, dc: Matrix, dxp: Matrix, dcPrev: Matrix, cPrev: Matrix): void {
    const H = this.hiddenSize;
    const gates = ws.gates[t];
    const gd = gates.data, zd = dxp.data, pd = cPrev.data, dd = dc.data, qd = dcPrev.data;
    for (let b = 0; b < gates.rows; b++) {
      const go = gates.offset + b * gates.stride, zo = dxp.offset + b * dxp.stride;
      const po = cPrev.offset + b * cPrev.stride, d = dc.offset + b * dc.stride;
      const q = dcPrev.offset + b * dcPrev.stride;
      for (let j = 0; j < H; j++) {
        const u = gd[go + j], cand = gd[go + H + j], g = dd[d + j];
        zd[zo + j] = g * (cand - pd[po + j]) * u * (1 - u);
        zd[zo + H + j] = g * u * (1 - cand * cand);
        qd[q + j] = g * (1 - u);
      }
    }
    gemm(dcPrev, dxp, this.params.W_a, false, false, 1, 1);
    gemm(this.grads.W_a, dxp, cPrev, true, false, 1, 1);
  }

  // ---- reset-after (PyTorch / Keras) --------------------------------------------------------

  /**
   * hp = h·W_aᵀ + b_a [B, 3H];  r = σ(xp_r + hp_r), z = σ(xp_z + hp_z);
   * n = tanh(xp_n + r ∗ hp_n);  h′ = (1 − z) ∗ n + z ∗ h.  Caches r, z, n and hp_n.
   */
  private resetAfterForward(ws: GruWorkspace, t: number, xp: Matrix, hPrev: Matrix, h: Matrix): void {
    const hp = ws.scratch;
    gemm(hp, hPrev, this.params.W_a, false, true, 1, 0);
    gruGatesForwardKernel()(hp.rows, this.hiddenSize, hp, this.params.b_a, xp, hPrev, ws.gates[t], ws.aux[t], h);
  }

  /**
   * dz_n = dh′ ∗ (1 − z) ∗ (1 − n²);  dz_z = dh′ ∗ (h − n) ∗ z(1 − z);  dz_r = dz_n ∗ hp_n ∗ r(1 − r)
   * dxp = [dz_r dz_z dz_n];  dhp = [dz_r dz_z dz_n ∗ r]  [B, 3H]
   * dh = dh′ ∗ z + dhp·W_a;  dW_a += dhpᵀ·h;  db_a += Σ_b dhp
   */
  private resetAfterBackward(ws: GruWorkspace, t: number, dh: Matrix, dxp: Matrix, dhPrev: Matrix, hPrev: Matrix): void {
    const dhp = ws.scratch;
    gruGatesBackwardKernel()(dhp.rows, this.hiddenSize, ws.gates[t], ws.aux[t], hPrev, dh, dxp, dhp, dhPrev);
    gemm(dhPrev, dhp, this.params.W_a, false, false, 1, 1);
    gemm(this.grads.W_a, dhp, hPrev, true, false, 1, 1);
    sumRows(this.grads.b_a, dhp, true);
  }
}

/** A GRU cell: the notes' full GRU (default), the simplified one, or PyTorch's reset-after GRU. */
export function createGruCell(opts: GruCellOptions): GruCell {
  return new GruCell(opts);
}

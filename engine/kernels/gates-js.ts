/**
 * The plain-JS reference of the backend seam's fused gate kernels (see `backend.ts`): the
 * elementwise part of one step of every cell in layers/cells/ — the LSTM and its peephole variant,
 * the notes' full and simplified GRU, the reset-after GRU, the tanh and ReLU RNN — over `rows` rows
 * of H units. Float32 or float64; the arithmetic is done in float64 (JS numbers) and stored in the
 * buffers' type, in exactly the order the cells in `layers/` always used, so results are bit for
 * bit what they were.
 *
 * Each operand is a row-major buffer view (data, offset, stride) — a `Matrix` fits.
 */
import type {
  GruFullCandidateBackwardKernel, GruFullCandidateForwardKernel, GruFullGatesBackwardKernel, GruFullGatesForwardKernel,
  GruGatesBackwardKernel, GruGatesForwardKernel, GruSimpleGatesBackwardKernel, GruSimpleGatesForwardKernel,
  LstmGatesBackwardKernel, LstmGatesForwardKernel, LstmPeepholeGatesBackwardKernel, LstmPeepholeGatesForwardKernel,
  RnnReluBackwardKernel, RnnReluForwardKernel, RnnTanhBackwardKernel, RnnTanhForwardKernel,
} from './types.js';
import { sigmoidScalar } from '../activations.js';

/**
 * LSTM, gate order [Γu Γf c̃ Γo] (PyTorch's [i f g o]), H units per gate block.
 * z [rows, 4H] holds a⟨t−1⟩·W_aᵀ and is overwritten by the activated gates; xp [rows, 4H] the
 * input projection (bias included):
 *   Γu = σ(z_u + xp_u), Γf = σ(z_f + xp_f), c̃ = tanh(z_c + xp_c), Γo = σ(z_o + xp_o)
 *   c = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩;  tanhC = tanh(c);  a = Γo ∗ tanhC      (c, a, tanhC, cPrev [rows, H])
 */
export const lstmGatesForwardJs: LstmGatesForwardKernel = (rows, H, z, xp, cPrev, c, a, tanhC) => {
  const gd = z.data, xd = xp.data, cpd = cPrev.data, cd = c.data, ad = a.data, td = tanhC.data;
  for (let b = 0; b < rows; b++) {
    const go = z.offset + b * z.stride;
    const xo = xp.offset + b * xp.stride;
    const to = tanhC.offset + b * tanhC.stride;
    const cpo = cPrev.offset + b * cPrev.stride;
    const ao = a.offset + b * a.stride;
    const co = c.offset + b * c.stride;
    for (let j = 0; j < H; j++) {
      const cp = cpd[cpo + j];
      const zi = gd[go + j] + xd[xo + j];
      const zf = gd[go + H + j] + xd[xo + H + j];
      const zg = gd[go + 2 * H + j] + xd[xo + 2 * H + j];
      const zo = gd[go + 3 * H + j] + xd[xo + 3 * H + j];
      const gi = sigmoidScalar(zi);
      const gf = sigmoidScalar(zf);
      const gg = Math.tanh(zg);
      const cNew = gi * gg + gf * cp;
      const gO = sigmoidScalar(zo);
      const tc = Math.tanh(cNew);
      gd[go + j] = gi;
      gd[go + H + j] = gf;
      gd[go + 2 * H + j] = gg;
      gd[go + 3 * H + j] = gO;
      td[to + j] = tc;
      cd[co + j] = cNew;
      ad[ao + j] = gO * tc;
    }
  }
};

/**
 * From the forward's gates [rows, 4H] and tanhC, c⟨t−1⟩, and da = ∂L/∂a⟨t⟩, dc = ∂L/∂c⟨t⟩ [rows, H]:
 *   dz_o = da ∗ tanhC ∗ Γo(1 − Γo);  dC = dc + da ∗ Γo ∗ (1 − tanhC²)
 *   dz_u = dC ∗ c̃ ∗ Γu(1 − Γu);  dz_f = dC ∗ c⟨t−1⟩ ∗ Γf(1 − Γf);  dz_c = dC ∗ Γu ∗ (1 − c̃²)
 *   dz [rows, 4H] = [dz_u dz_f dz_c dz_o] (written);  dcPrev = dC ∗ Γf (written)
 */
export const lstmGatesBackwardJs: LstmGatesBackwardKernel = (rows, H, gates, tanhC, cPrev, da, dc, dz, dcPrev) => {
  const gd = gates.data, td = tanhC.data, zd = dz.data;
  const dad = da.data, dcd = dc.data, cpd = cPrev.data, dcpd = dcPrev.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride;
    const to = tanhC.offset + b * tanhC.stride;
    const zo = dz.offset + b * dz.stride;
    const dao = da.offset + b * da.stride;
    const dco = dc.offset + b * dc.stride;
    const cpo = cPrev.offset + b * cPrev.stride;
    const dcpo = dcPrev.offset + b * dcPrev.stride;
    for (let j = 0; j < H; j++) {
      const gi = gd[go + j], gf = gd[go + H + j], gg = gd[go + 2 * H + j], gO = gd[go + 3 * H + j];
      const tc = td[to + j];
      const dA = dad[dao + j];
      const cp = cpd[cpo + j];
      const dzo = dA * tc * gO * (1 - gO);
      const dC = dcd[dco + j] + dA * gO * (1 - tc * tc);
      zd[zo + j] = dC * gg * gi * (1 - gi);
      zd[zo + H + j] = dC * cp * gf * (1 - gf);
      zd[zo + 2 * H + j] = dC * gi * (1 - gg * gg);
      zd[zo + 3 * H + j] = dzo;
      dcpd[dcpo + j] = dC * gf;
    }
  }
};

/**
 * The peephole LSTM (Gers & Schmidhuber 2000), same layout as lstmGatesForwardJs plus the diagonal
 * peephole weights p_u, p_f, p_o [1, H]:
 *   Γu = σ(z_u + xp_u + p_u ∗ c⟨t−1⟩), Γf = σ(z_f + xp_f + p_f ∗ c⟨t−1⟩), c̃ = tanh(z_c + xp_c)
 *   c = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩;  Γo = σ(z_o + xp_o + p_o ∗ c);  a = Γo ∗ tanh(c)
 */
export const lstmPeepholeGatesForwardJs: LstmPeepholeGatesForwardKernel = (rows, H, z, xp, cPrev, c, a, tanhC, pu, pf, po) => {
  const gd = z.data, xd = xp.data, cpd = cPrev.data, cd = c.data, ad = a.data, td = tanhC.data;
  const pud = pu.data, pfd = pf.data, pod = po.data, puo = pu.offset, pfo = pf.offset, poo = po.offset;
  for (let b = 0; b < rows; b++) {
    const go = z.offset + b * z.stride;
    const xo = xp.offset + b * xp.stride;
    const to = tanhC.offset + b * tanhC.stride;
    const cpo = cPrev.offset + b * cPrev.stride;
    const ao = a.offset + b * a.stride;
    const co = c.offset + b * c.stride;
    for (let j = 0; j < H; j++) {
      const cp = cpd[cpo + j];
      const zi = gd[go + j] + xd[xo + j] + pud[puo + j] * cp;
      const zf = gd[go + H + j] + xd[xo + H + j] + pfd[pfo + j] * cp;
      const zg = gd[go + 2 * H + j] + xd[xo + 2 * H + j];
      const gi = sigmoidScalar(zi);
      const gf = sigmoidScalar(zf);
      const gg = Math.tanh(zg);
      const cNew = gi * gg + gf * cp;
      const gO = sigmoidScalar(gd[go + 3 * H + j] + xd[xo + 3 * H + j] + pod[poo + j] * cNew);
      const tc = Math.tanh(cNew);
      gd[go + j] = gi;
      gd[go + H + j] = gf;
      gd[go + 2 * H + j] = gg;
      gd[go + 3 * H + j] = gO;
      td[to + j] = tc;
      cd[co + j] = cNew;
      ad[ao + j] = gO * tc;
    }
  }
};

/**
 * Backward of the peephole LSTM: as lstmGatesBackwardJs, plus the peephole paths
 *   dC += dz_o ∗ p_o;  dcPrev = dC ∗ Γf + dz_u ∗ p_u + dz_f ∗ p_f
 *   dp_u += Σ_rows dz_u ∗ c⟨t−1⟩;  dp_f += Σ_rows dz_f ∗ c⟨t−1⟩;  dp_o += Σ_rows dz_o ∗ c⟨t⟩  (accumulated)
 */
export const lstmPeepholeGatesBackwardJs: LstmPeepholeGatesBackwardKernel = (
  rows, H, gates, tanhC, cPrev, c, da, dc, dz, dcPrev, pu, pf, po, dpu, dpf, dpo,
) => {
  const gd = gates.data, td = tanhC.data, zd = dz.data;
  const dad = da.data, dcd = dc.data, cpd = cPrev.data, cd = c.data, dcpd = dcPrev.data;
  const pud = pu.data, pfd = pf.data, pod = po.data, dpud = dpu.data, dpfd = dpf.data, dpod = dpo.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride;
    const to = tanhC.offset + b * tanhC.stride;
    const zo = dz.offset + b * dz.stride;
    const dao = da.offset + b * da.stride;
    const dco = dc.offset + b * dc.stride;
    const cpo = cPrev.offset + b * cPrev.stride;
    const co = c.offset + b * c.stride;
    const dcpo = dcPrev.offset + b * dcPrev.stride;
    for (let j = 0; j < H; j++) {
      const gi = gd[go + j], gf = gd[go + H + j], gg = gd[go + 2 * H + j], gO = gd[go + 3 * H + j];
      const tc = td[to + j];
      const dA = dad[dao + j];
      const cp = cpd[cpo + j];
      const dzo = dA * tc * gO * (1 - gO);
      const dC = dcd[dco + j] + dA * gO * (1 - tc * tc) + dzo * pod[po.offset + j];
      const dzi = dC * gg * gi * (1 - gi);
      const dzf = dC * cp * gf * (1 - gf);
      zd[zo + j] = dzi;
      zd[zo + H + j] = dzf;
      zd[zo + 2 * H + j] = dC * gi * (1 - gg * gg);
      zd[zo + 3 * H + j] = dzo;
      dcpd[dcpo + j] = dC * gf + (dzi * pud[pu.offset + j] + dzf * pfd[pf.offset + j]);
      dpud[dpu.offset + j] += dzi * cp;
      dpfd[dpf.offset + j] += dzf * cp;
      dpod[dpo.offset + j] += dzo * cd[co + j];
    }
  }
};

/**
 * The reset-after GRU (PyTorch's nn.GRU), gate order [r z n], H units per block. hp [rows, 3H] =
 * h⟨t−1⟩·W_aᵀ (without its bias), bias b_a [1, 3H] (one row, broadcast), xp [rows, 3H] = x·W_xᵀ + b:
 *   r = σ(xp_r + hp_r + b_ar),  z = σ(xp_z + hp_z + b_az),  hn = hp_n + b_an,  n = tanh(xp_n + r ∗ hn)
 *   gates [rows, 3H] = [r z n];  hpn [rows, H] = hn;  h = (1 − z) ∗ n + z ∗ h⟨t−1⟩  [rows, H]
 */
export const gruGatesForwardJs: GruGatesForwardKernel = (rows, H, hp, bias, xp, hPrev, gates, hpn, h) => {
  const bad = bias.data, bo = bias.offset;
  const gd = gates.data, xd = xp.data, hd = hp.data, nd = hpn.data, pd = hPrev.data, od = h.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
    const ho = hp.offset + b * hp.stride, no = hpn.offset + b * hpn.stride;
    const po = hPrev.offset + b * hPrev.stride, oo = h.offset + b * h.stride;
    for (let j = 0; j < H; j++) {
      const r = sigmoidScalar(xd[xo + j] + hd[ho + j] + bad[bo + j]);
      const z = sigmoidScalar(xd[xo + H + j] + hd[ho + H + j] + bad[bo + H + j]);
      const hn = hd[ho + 2 * H + j] + bad[bo + 2 * H + j];
      const n = Math.tanh(xd[xo + 2 * H + j] + r * hn);
      gd[go + j] = r;
      gd[go + H + j] = z;
      gd[go + 2 * H + j] = n;
      nd[no + j] = hn;
      od[oo + j] = (1 - z) * n + z * pd[po + j];
    }
  }
};

/**
 * Its backward, from gates [r z n], hpn and h⟨t−1⟩ of the forward and dh = ∂L/∂h⟨t⟩ [rows, H]:
 *   dz_n = dh ∗ (1 − z) ∗ (1 − n²);  dz_z = dh ∗ (h⟨t−1⟩ − n) ∗ z(1 − z);  dz_r = dz_n ∗ hpn ∗ r(1 − r)
 *   dxp [rows, 3H] = [dz_r dz_z dz_n];  dhp [rows, 3H] = [dz_r dz_z dz_n ∗ r];  dhPrev = dh ∗ z
 * (all written; the cell then adds dhp·W_a into dhPrev).
 */
export const gruGatesBackwardJs: GruGatesBackwardKernel = (rows, H, gates, hpn, hPrev, dh, dxp, dhp, dhPrev) => {
  const gd = gates.data, nd = hpn.data, zd = dxp.data, sd = dhp.data, pd = hPrev.data, dd = dh.data, qd = dhPrev.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, no = hpn.offset + b * hpn.stride;
    const zo = dxp.offset + b * dxp.stride, so = dhp.offset + b * dhp.stride;
    const po = hPrev.offset + b * hPrev.stride, d = dh.offset + b * dh.stride;
    const q = dhPrev.offset + b * dhPrev.stride;
    for (let j = 0; j < H; j++) {
      const r = gd[go + j], z = gd[go + H + j], n = gd[go + 2 * H + j];
      const g = dd[d + j];
      const dzn = g * (1 - z) * (1 - n * n);
      const dzz = g * (pd[po + j] - n) * z * (1 - z);
      const dzr = dzn * nd[no + j] * r * (1 - r);
      zd[zo + j] = dzr;
      zd[zo + H + j] = dzz;
      zd[zo + 2 * H + j] = dzn;
      sd[so + j] = dzr;
      sd[so + H + j] = dzz;
      sd[so + 2 * H + j] = dzn * r;
      qd[q + j] = g * z;
    }
  }
};

/**
 * The notes' full GRU, first half of the step (gate order [Γr Γu c̃], H units per block). gates
 * [rows, 3H] holds c⟨t−1⟩·[W_ra; W_ua]ᵀ in its first 2H columns:
 *   Γr = σ(gates_r + xp_r),  Γu = σ(gates_u + xp_u)   (written over gates_r, gates_u)
 *   resetState [rows, H] = Γr ∗ c⟨t−1⟩
 */
export const gruFullGatesForwardJs: GruFullGatesForwardKernel = (rows, H, gates, xp, cPrev, resetState) => {
  const gd = gates.data, xd = xp.data, pd = cPrev.data, rd = resetState.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
    const po = cPrev.offset + b * cPrev.stride, ro = resetState.offset + b * resetState.stride;
    for (let j = 0; j < H; j++) {
      const r = sigmoidScalar(gd[go + j] + xd[xo + j]);
      gd[go + j] = r;
      gd[go + H + j] = sigmoidScalar(gd[go + H + j] + xd[xo + H + j]);
      rd[ro + j] = r * pd[po + j];
    }
  }
};

/**
 * Its second half; gates[:, 2H:3H] holds (Γr ∗ c⟨t−1⟩)·W_caᵀ:
 *   c̃ = tanh(gates_c + xp_c)   (written over gates_c);  c [rows, H] = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩
 */
export const gruFullCandidateForwardJs: GruFullCandidateForwardKernel = (rows, H, gates, xp, cPrev, c) => {
  const gd = gates.data, xd = xp.data, pd = cPrev.data, cd = c.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, xo = xp.offset + b * xp.stride;
    const po = cPrev.offset + b * cPrev.stride, co = c.offset + b * c.stride;
    for (let j = 0; j < H; j++) {
      const cand = Math.tanh(gd[go + 2 * H + j] + xd[xo + 2 * H + j]);
      gd[go + 2 * H + j] = cand;
      const u = gd[go + H + j];
      cd[co + j] = u * cand + (1 - u) * pd[po + j];
    }
  }
};

/**
 * Full GRU backward, first half, from gates [Γr Γu c̃], c⟨t−1⟩ and dc = ∂L/∂c⟨t⟩ [rows, H]:
 *   dzC = dc ∗ Γu ∗ (1 − c̃²);  dzRU[:, H:2H] = dz_u = dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu)
 *   dcPrev = dc ∗ (1 − Γu)      (all written)
 */
export const gruFullCandidateBackwardJs: GruFullCandidateBackwardKernel = (rows, H, gates, cPrev, dc, dzRU, dzC, dcPrev) => {
  const gd = gates.data, pd = cPrev.data, dd = dc.data, qd = dcPrev.data, rud = dzRU.data, ccd = dzC.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, po = cPrev.offset + b * cPrev.stride;
    const d = dc.offset + b * dc.stride, q = dcPrev.offset + b * dcPrev.stride;
    const ro = dzRU.offset + b * dzRU.stride, co = dzC.offset + b * dzC.stride;
    for (let j = 0; j < H; j++) {
      const u = gd[go + H + j], cand = gd[go + 2 * H + j];
      const g = dd[d + j];
      ccd[co + j] = g * u * (1 - cand * cand);
      rud[ro + H + j] = g * (cand - pd[po + j]) * u * (1 - u);
      qd[q + j] = g * (1 - u);
    }
  }
};

/**
 * Its second half, from dResetState = ∂L/∂(Γr ∗ c⟨t−1⟩) [rows, H]:
 *   dzRU[:, 0:H] = dz_r = dResetState ∗ c⟨t−1⟩ ∗ Γr(1 − Γr);  dxp = [dz_r dz_u dz_c]  (written)
 *   dcPrev += dResetState ∗ Γr
 */
export const gruFullGatesBackwardJs: GruFullGatesBackwardKernel = (rows, H, gates, cPrev, dResetState, dzRU, dzC, dxp, dcPrev) => {
  const gd = gates.data, pd = cPrev.data, qd = dcPrev.data, drd = dResetState.data;
  const rud = dzRU.data, ccd = dzC.data, zd = dxp.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, po = cPrev.offset + b * cPrev.stride;
    const q = dcPrev.offset + b * dcPrev.stride, zo = dxp.offset + b * dxp.stride;
    const ro = dzRU.offset + b * dzRU.stride, co = dzC.offset + b * dzC.stride;
    const so = dResetState.offset + b * dResetState.stride;
    for (let j = 0; j < H; j++) {
      const r = gd[go + j], g = drd[so + j];
      const dzr = g * pd[po + j] * r * (1 - r);
      rud[ro + j] = dzr;
      qd[q + j] += g * r;
      zd[zo + j] = dzr;
      zd[zo + H + j] = rud[ro + H + j];
      zd[zo + 2 * H + j] = ccd[co + j];
    }
  }
};

/**
 * The notes' simplified GRU (Γr ≡ 1), gate order [Γu c̃]; z [rows, 2H] holds c⟨t−1⟩·W_aᵀ:
 *   Γu = σ(z_u + xp_u), c̃ = tanh(z_c + xp_c)   (written over z);  c = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩
 */
export const gruSimpleGatesForwardJs: GruSimpleGatesForwardKernel = (rows, H, z, xp, cPrev, c) => {
  const gd = z.data, xd = xp.data, pd = cPrev.data, cd = c.data;
  for (let b = 0; b < rows; b++) {
    const go = z.offset + b * z.stride, xo = xp.offset + b * xp.stride;
    const po = cPrev.offset + b * cPrev.stride, co = c.offset + b * c.stride;
    for (let j = 0; j < H; j++) {
      const u = sigmoidScalar(gd[go + j] + xd[xo + j]);
      const cand = Math.tanh(gd[go + H + j] + xd[xo + H + j]);
      gd[go + j] = u;
      gd[go + H + j] = cand;
      cd[co + j] = u * cand + (1 - u) * pd[po + j];
    }
  }
};

/**
 * Its backward, from gates [Γu c̃], c⟨t−1⟩ and dc = ∂L/∂c⟨t⟩ [rows, H]:
 *   dz = [dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu),  dc ∗ Γu ∗ (1 − c̃²)]  [rows, 2H];  dcPrev = dc ∗ (1 − Γu)
 * (written; the cell then adds dz·W_a into dcPrev).
 */
export const gruSimpleGatesBackwardJs: GruSimpleGatesBackwardKernel = (rows, H, gates, cPrev, dc, dz, dcPrev) => {
  const gd = gates.data, zd = dz.data, pd = cPrev.data, dd = dc.data, qd = dcPrev.data;
  for (let b = 0; b < rows; b++) {
    const go = gates.offset + b * gates.stride, zo = dz.offset + b * dz.stride;
    const po = cPrev.offset + b * cPrev.stride, d = dc.offset + b * dc.stride;
    const q = dcPrev.offset + b * dcPrev.stride;
    for (let j = 0; j < H; j++) {
      const u = gd[go + j], cand = gd[go + H + j], g = dd[d + j];
      zd[zo + j] = g * (cand - pd[po + j]) * u * (1 - u);
      zd[zo + H + j] = g * u * (1 - cand * cand);
      qd[q + j] = g * (1 - u);
    }
  }
};

/** The tanh RNN's step nonlinearity, in place: a [rows, H] ← tanh(a + xp), a holding a⟨t−1⟩·W_aᵀ. */
export const rnnTanhForwardJs: RnnTanhForwardKernel = (rows, H, a, xp) => {
  const ad = a.data, xd = xp.data;
  for (let b = 0; b < rows; b++) {
    const ao = a.offset + b * a.stride;
    const xo = xp.offset + b * xp.stride;
    for (let j = 0; j < H; j++) ad[ao + j] = Math.tanh(ad[ao + j] + xd[xo + j]);
  }
};

/** The ReLU RNN's step nonlinearity, in place: a [rows, H] ← max(0, a + xp), a holding a⟨t−1⟩·W_aᵀ. */
export const rnnReluForwardJs: RnnReluForwardKernel = (rows, H, a, xp) => {
  const ad = a.data, xd = xp.data;
  for (let b = 0; b < rows; b++) {
    const ao = a.offset + b * a.stride;
    const xo = xp.offset + b * xp.stride;
    for (let j = 0; j < H; j++) {
      const z = ad[ao + j] + xd[xo + j];
      ad[ao + j] = z > 0 ? z : 0;
    }
  }
};

/** The tanh RNN's backward through g: dz [rows, H] = da ∗ (1 − a²), a = a⟨t⟩ (written). */
export const rnnTanhBackwardJs: RnnTanhBackwardKernel = (rows, H, a, da, dz) => {
  const ad = a.data, gd = da.data, zd = dz.data;
  for (let b = 0; b < rows; b++) {
    const ao = a.offset + b * a.stride, go = da.offset + b * da.stride, zo = dz.offset + b * dz.stride;
    for (let j = 0; j < H; j++) {
      const y = ad[ao + j];
      zd[zo + j] = gd[go + j] * (1 - y * y);
    }
  }
};

/** The ReLU RNN's backward through g: dz [rows, H] = da ∗ [a > 0], a = a⟨t⟩ (written). */
export const rnnReluBackwardJs: RnnReluBackwardKernel = (rows, H, a, da, dz) => {
  const ad = a.data, gd = da.data, zd = dz.data;
  for (let b = 0; b < rows; b++) {
    const ao = a.offset + b * a.stride, go = da.offset + b * da.stride, zo = dz.offset + b * dz.stride;
    for (let j = 0; j < H; j++) zd[zo + j] = ad[ao + j] > 0 ? gd[go + j] : 0;
  }
};

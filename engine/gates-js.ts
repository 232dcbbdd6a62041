/**
 * The plain-JS reference of the backend seam's fused gate kernels (see `backend.ts`): the
 * elementwise part of one LSTM step, forward and backward, over `rows` rows of H units. Float32
 * or float64; the arithmetic is done in float64 (JS numbers) and stored in the buffers' type, in
 * exactly the order `layers/lstm.ts` always used, so results are bit for bit what they were.
 *
 * Gate order [Γu Γf c̃ Γo] (PyTorch's [i f g o]); H units per gate block; each operand is a
 * row-major buffer view (data, offset, stride) — a `Matrix` fits.
 */
import type { LstmGatesBackwardKernel, LstmGatesForwardKernel } from './backend.js';

/**
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
      // σ(z) without overflow: exp of a non-positive number only.
      let e = Math.exp(-Math.abs(zi));
      const gi = zi >= 0 ? 1 / (1 + e) : e / (1 + e);
      e = Math.exp(-Math.abs(zf));
      const gf = zf >= 0 ? 1 / (1 + e) : e / (1 + e);
      const gg = Math.tanh(zg);
      const cNew = gi * gg + gf * cp;
      e = Math.exp(-Math.abs(zo));
      const gO = zo >= 0 ? 1 / (1 + e) : e / (1 + e);
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

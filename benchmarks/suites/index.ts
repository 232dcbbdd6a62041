/**
 * Every suite of `seqgrad bench`, in the order a bare `seqgrad bench` runs them. A suite plugs in
 * by appending itself here (see `Suite` in ../harness.ts: it declares cases, each with seqgrad's
 * workload per backend; the peers contribute theirs for the same case, matched by suite name and
 * params). The peers (benchmarks/peers/*.mjs, torch_peer.py) already implement these suites:
 *
 *   gemm   { n }                        C = A·B, float32                         metric gflops(2n³)
 *   cells  { cell, B, T, D, H, V }      one layer over T steps + dense head to V metric millis()
 *                                       + softmax CE at every step, forward and
 *                                       backward; cell ∈ rnn|gru|lstm
 *   train  { cell, B, T, D, H, V }      embedding → cell → dense → softmax CE    metric millis()
 *                                       summed over time, backward, SGD update
 *   sample { cell, D, H, V, tokens }    batch 1: `tokens` steps of embedding →   metric microsPer(tokens, 'token')
 *                                       cell step → dense → softmax → sample
 *
 * (brain.js has train and sample only; TensorFlow.js all four on cpu and wasm; PyTorch all four.)
 * The issue's reference case: train { cell: 'lstm', B: 32, T: 50, D: 64, H: 128, V: 64 }.
 * Two more suites are seqgrad's alone: `gradcheck` (the time of a full gradient-check run) and
 * `memory` (heap growth over many training steps; it runs itself, `Suite.run`).
 */
import type { Suite } from '../harness.js';
import { decodeSuite } from './decode.js';
import { gemmSuite } from './gemm.js';
import { gradcheckSuite } from './gradcheck.js';
import { memorySuite } from './memory.js';
import { cellsSuite, sampleSuite, trainSuite } from './models.js';
import { transformerSuite } from './transformer.js';

export const suites: Suite[] = [gemmSuite, cellsSuite, trainSuite, sampleSuite, decodeSuite, transformerSuite, gradcheckSuite, memorySuite];

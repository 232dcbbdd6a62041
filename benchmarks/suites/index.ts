/**
 * Every suite of `seqgrad bench`, in the order a bare `seqgrad bench` runs them. A suite plugs in
 * by appending itself here (see `Suite` in ../harness.ts: it declares cases, each with seqgrad's
 * workload per backend; peers contribute theirs for the same case by suite name and params).
 */
import type { Suite } from '../harness.js';
import { gemmSuite } from './gemm.js';

export const suites: Suite[] = [gemmSuite];

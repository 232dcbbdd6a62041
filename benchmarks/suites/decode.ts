/**
 * `seqgrad bench decode`: batched seq2seq decoding (issue 17, item 7) — greedy and beam search over
 * `--sources` date sources (default 1,000) with the dates model's sizes (decodeWork in ../workloads.ts), ms per call (one
 * call decodes all n sources). `--sizes` are the beam widths (default 1 and 5). The PyTorch peer
 * decodes the same sources (written to a pairs file in the temporary directory, passed as `pairs`)
 * with benchmarks/seq2seq_decode_torch.py's batched decoder.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePairsTsv } from '../../training/seq2seq/tasks.js';
import { DEFAULT_WORKLOAD, millis, onBackend, seqgradWorkload, type BenchCase, type Suite } from '../harness.js';
import { decodePairs, decodeWork } from '../workloads.js';

const STEPS = 11;
const CHUNK = 64;

export const decodeSuite: Suite = {
  name: 'decode',
  summary: `batched seq2seq decoding of --sources date sources (default ${DEFAULT_WORKLOAD.sources}) (biGRU 64+64, Bahdanau 128, GRU 128, ${STEPS} steps), ms (float32)`,
  sizesHelp: 'beam widths (1 = greedy)',
  defaultSizes: [1, 5],
  cases(ctx) {
    const sources = (ctx.workload ?? DEFAULT_WORKLOAD).sources;
    const pairsFile = join(tmpdir(), `seqgrad-bench-dates-${sources}.tsv`);
    writePairsTsv(pairsFile, decodePairs(sources));
    return (ctx.sizes ?? this.defaultSizes!).map((beam): BenchCase => {
      if (!Number.isInteger(beam) || beam < 1) throw new Error(`bench decode: expected beam widths to be positive integers, got ${beam}`);
      const params = { beam, n: sources, steps: STEPS, chunk: CHUNK };
      return {
        suite: 'decode',
        name: `${beam === 1 ? 'greedy' : `beam ${beam}`} n=${sources}`,
        params: { ...params, pairs: pairsFile },
        metric: millis(),
        ours(backend) {
          const work = onBackend(backend, () => decodeWork(params));
          return seqgradWorkload(backend, () => work.call());
        },
      };
    });
  },
};

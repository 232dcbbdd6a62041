/**
 * The entry of the data-parallel worker threads (training/parallel/pool.ts starts it; the build
 * bundles it as dist/parallel-worker.js). It lists the job kinds — one per trainer that trains on
 * threads — which is why it sits at the root of training/, beside the other lists of the
 * applications (gradcheck-suite.ts): the shared layer never imports an application.
 *
 * A worker imports the module of its own job kind only, not every trainer's: its start-up is part
 * of a run's wall time (from TypeScript source through tsx, all trainers took ~0.6–1.3 s to load,
 * the embeddings' ~0.2 s). Each module's own constant names its kind, so a key here that drifted
 * from it fails as an unknown kind.
 */
import { workerData } from 'node:worker_threads';
import type { PoolWorkerData } from './parallel/pool.js';
import { runGradientWorker, type GradientJobFactory } from './parallel/worker-loop.js';

type Factories = Record<string, GradientJobFactory>;

const JOB_MODULES: Record<string, () => Promise<Factories>> = {
  'lm-gradient': () => import('./lm/parallel.js').then((m) => ({ [m.LM_GRADIENT_JOB]: m.createLmGradientJob })),
  'glove-hogwild': () => import('./embeddings/glove.js').then((m) => ({ [m.GLOVE_HOGWILD_JOB]: m.createGloveHogwildJob })),
  'word2vec-hogwild': () => import('./embeddings/word2vec.js').then((m) => ({ [m.WORD2VEC_HOGWILD_JOB]: m.createWord2VecHogwildJob })),
  'seq2seq-gradient': () => import('./seq2seq/parallel.js').then((m) => ({ [m.SEQ2SEQ_GRADIENT_JOB]: m.createSeq2SeqGradientJob })),
  'sentiment-gradient': () => import('./sentiment/parallel.js').then((m) => ({ [m.SENTIMENT_GRADIENT_JOB]: m.createSentimentGradientJob })),
  'tagger-gradient': () => import('./tagger/parallel.js').then((m) => ({ [m.TAGGER_GRADIENT_JOB]: m.createTaggerGradientJob })),
  'transformer-seq2seq-gradient': () =>
    import('./seq2seq/transformer-parallel.js').then((m) => ({ [m.TRANSFORMER_SEQ2SEQ_GRADIENT_JOB]: m.createTransformerSeq2SeqGradientJob })),
  'transformer-lm-gradient': () =>
    import('./lm/transformer-parallel.js').then((m) => ({ [m.TRANSFORMER_LM_GRADIENT_JOB]: m.createTransformerLmGradientJob })),
};

/** The factories of `job`'s module; for an unknown kind, none (the worker reports the known kinds). */
function loadFactories(job: string): Promise<Factories> {
  const load = JOB_MODULES[job];
  if (load) return load();
  const unknown: GradientJobFactory = () => {
    throw new Error(`threads: no job kind '${job}'`);
  };
  return Promise.resolve(Object.fromEntries(Object.keys(JOB_MODULES).map((kind) => [kind, unknown])));
}

const data = workerData as PoolWorkerData;
loadFactories(data.job).then(
  (factories) => runGradientWorker(data, factories),
  (err: unknown) => runGradientWorker(data, { [data.job]: () => { throw err; } }), // a module that failed to load: its one line
);

/**
 * The entry of the data-parallel worker threads (training/parallel/pool.ts starts it; the build
 * bundles it as dist/parallel-worker.js). It lists the job kinds — one per trainer that trains on
 * threads — which is why it sits at the root of training/, beside the other lists of the
 * applications (gradcheck-suite.ts): the shared layer never imports an application.
 */
import { workerData } from 'node:worker_threads';
import { createGloveHogwildJob, GLOVE_HOGWILD_JOB } from './embeddings/glove.js';
import { createWord2VecHogwildJob, WORD2VEC_HOGWILD_JOB } from './embeddings/word2vec.js';
import { createLmGradientJob, LM_GRADIENT_JOB } from './lm/parallel.js';
import { createTransformerLmGradientJob, TRANSFORMER_LM_GRADIENT_JOB } from './lm/transformer-parallel.js';
import type { PoolWorkerData } from './parallel/pool.js';
import { createSentimentGradientJob, SENTIMENT_GRADIENT_JOB } from './sentiment/parallel.js';
import { createTaggerGradientJob, TAGGER_GRADIENT_JOB } from './tagger/parallel.js';
import { createSeq2SeqGradientJob, SEQ2SEQ_GRADIENT_JOB } from './seq2seq/parallel.js';
import { createTransformerSeq2SeqGradientJob, TRANSFORMER_SEQ2SEQ_GRADIENT_JOB } from './seq2seq/transformer-parallel.js';
import { runGradientWorker } from './parallel/worker-loop.js';

runGradientWorker(workerData as PoolWorkerData, {
  [LM_GRADIENT_JOB]: createLmGradientJob,
  [GLOVE_HOGWILD_JOB]: createGloveHogwildJob,
  [WORD2VEC_HOGWILD_JOB]: createWord2VecHogwildJob,
  [SEQ2SEQ_GRADIENT_JOB]: createSeq2SeqGradientJob,
  [SENTIMENT_GRADIENT_JOB]: createSentimentGradientJob,
  [TAGGER_GRADIENT_JOB]: createTaggerGradientJob,
  [TRANSFORMER_SEQ2SEQ_GRADIENT_JOB]: createTransformerSeq2SeqGradientJob,
  [TRANSFORMER_LM_GRADIENT_JOB]: createTransformerLmGradientJob,
});

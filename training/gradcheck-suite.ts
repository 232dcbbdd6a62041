/**
 * Every gradient-check case of the project: `seqgrad gradcheck`, `npm start` and the specs all
 * run this one list. Each area keeps its cases in its own file here.
 */
import type { GradCheckCase } from './check/gradcheck.js';
import { engineCases } from './check/cases/engine-cases.js';
import { cellsCases } from './check/cases/cells-cases.js';
import { attentionCases } from './check/cases/attention-cases.js';
import { recursiveCases } from './trees/gradcheck-cases.js';
import { embeddingCases } from './check/cases/embedding-cases.js';
import { embeddingsTrainingCases, tsneCases } from './embeddings/gradcheck-cases.js';
import { architecturesCases, wrappersCases } from './check/cases/wrappers-cases.js';
import { lmCases } from './lm/gradcheck-cases.js';
import { seq2seqCases } from './seq2seq/gradcheck-cases.js';
import { sentimentAverageCases, sentimentCases } from './sentiment/gradcheck-cases.js';
import { transformerCases } from './check/cases/transformer-cases.js';
import { transformerLmCases } from './lm/transformer-gradcheck-cases.js';
import { transformerSeq2SeqCases } from './seq2seq/transformer-gradcheck-cases.js';
import { modelCases } from './model/gradcheck-cases.js';

export const gradCheckCases: GradCheckCase[] = [
  ...engineCases,
  ...cellsCases,
  ...attentionCases,
  ...recursiveCases,
  ...embeddingCases,
  ...tsneCases,
  ...sentimentAverageCases,
  ...embeddingsTrainingCases,
  ...wrappersCases,
  ...architecturesCases,
  ...lmCases,
  ...seq2seqCases,
  ...sentimentCases,
  ...transformerCases,
  ...transformerLmCases,
  ...transformerSeq2SeqCases,
  ...modelCases,
];

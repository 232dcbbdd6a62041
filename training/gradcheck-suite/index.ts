/**
 * Every gradient-check case of the project: `seqgrad gradcheck`, `npm start` and the specs all
 * run this one list. Each area keeps its cases in its own file here.
 */
import type { GradCheckCase } from '../gradcheck.js';
import { engineCases } from './engine-cases.js';
import { cellsCases } from './cells-cases.js';
import { attentionCases } from './attention-cases.js';
import { recursiveCases } from './recursive-cases.js';
import { embeddingCases } from './embedding-cases.js';
import { embeddingsTrainingCases } from './embeddings-cases.js';
import { architecturesCases, wrappersCases } from './wrappers-cases.js';
import { lmCases } from './lm-cases.js';
import { seq2seqCases } from './seq2seq-cases.js';
import { sentimentCases } from './sentiment-cases.js';

export const gradCheckCases: GradCheckCase[] = [
  ...engineCases,
  ...cellsCases,
  ...attentionCases,
  ...recursiveCases,
  ...embeddingCases,
  ...embeddingsTrainingCases,
  ...wrappersCases,
  ...architecturesCases,
  ...lmCases,
  ...seq2seqCases,
  ...sentimentCases,
];

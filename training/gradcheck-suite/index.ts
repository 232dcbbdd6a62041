/**
 * Every gradient-check case of the project: `seqgrad gradcheck`, `npm start` and the specs all
 * run this one list. Each area keeps its cases in its own file here.
 */
import type { GradCheckCase } from '../gradcheck.js';
import { engineCases } from './engine-cases.js';

export const gradCheckCases: GradCheckCase[] = [
  ...engineCases,
];

/**
 * The messages between the page (main.ts) and its Web Worker (worker.ts). Every request that
 * expects one answer carries an `id` the answer repeats; training streams events without one.
 */
import type { CellKind } from '../layers/cells/cell.js';

/** The seven cells of the gradient-check suite (the RNN twice: tanh and ReLU). */
export type CheckCellKey =
  | 'rnn-tanh' | 'rnn-relu' | 'gru' | 'gru-simple' | 'gru-reset-after' | 'lstm' | 'lstm-peephole';

export interface GradCheckRequest {
  type: 'gradcheck';
  id: number;
  cell: CheckCellKey;
  steps: number;
  batch: number;
  hidden: number;
  /** Ragged sequence lengths (a [T, B] mask) or every sequence T long. */
  mask: boolean;
  /** Run the check through a cell whose backward drops ∂L/∂a⟨t−1⟩ (broken-backward.ts). */
  broken: boolean;
}

export interface GradCheckRowData {
  name: string;
  shape: [number, number];
  analyticNorm: number;
  numericNorm: number;
  relError: number;
  pass: boolean;
}

export interface GradFlowRequest {
  type: 'gradflow';
  id: number;
  steps: number;
  recurrentScale: number;
  forgetBias: number;
  activation: 'tanh' | 'relu';
}

export interface TrainSettings {
  /** The corpus text (the dinosaur names are the worker's own: null). */
  text: string | null;
  /** What the corpus is, for the page and the model file ("dinosaur names", a file name, …). */
  source: string;
  cell: CellKind;
  hidden: number;
  seqLen: number;
  batch: number;
  lr: number;
  temperature: number;
  /** Where the float32 matrix products run: the wasm SIMD backend, or gpu.js (WebGL where the browser has it). */
  device: 'wasm' | 'gpu';
}

export interface DatesRequest {
  type: 'dates';
  id: number;
  /** A date as people write it ("3rd of may 79"). */
  text: string;
  beamWidth: number;
  /** The output the user expects (empty: no error analysis). */
  expected: string;
}

export interface DatesHypothesis {
  text: string;
  /** Σ log P(y⟨t⟩ | …, x) over the output and <EOS>. */
  logProb: number;
  finished: boolean;
}

export interface DatesResult {
  type: 'dates-result';
  id: number;
  /** The beam's n-best, best first. */
  nBest: DatesHypothesis[];
  /** The heatmap of α⟨t,i⟩ of the best output (SVG). */
  heatmap: string;
  /** The notes' error analysis against the expected output, when one was given. */
  analysis: null | {
    expected: string;
    verdict: 'correct' | 'search' | 'model';
    expectedLogProb: number;
    outputLogProb: number;
  };
  /** How the shipped model was trained (its file's record). */
  modelNote: string;
}

export type ToWorker =
  | { type: 'init' }
  | GradCheckRequest
  | GradFlowRequest
  | DatesRequest
  | { type: 'train-start'; settings: TrainSettings }
  | { type: 'train-pause' }
  | { type: 'train-resume' }
  | { type: 'temperature'; value: number }
  | { type: 'save'; id: number }
  /** Load a model file; it trains on with the form's text, T, B and learning rate (its own cell and H). */
  | { type: 'load'; id: number; text: string; fileName: string; settings: Omit<TrainSettings, 'cell' | 'hidden'> };

export interface BackendInfo {
  /** The backend the float32 model runs on ('wasm' or 'js'). */
  name: string;
  simd: boolean;
  relaxedSimd: boolean;
  crossOriginIsolated: boolean;
}

/** What the training really runs on, as found when it starts (gpu.js may fall back to its CPU kernels). */
export interface DeviceInfo {
  /** The engine backend selected for training: 'wasm' (or 'js' without WebAssembly SIMD) or 'gpu'. */
  backend: string;
  /** gpu.js' kernel class that really runs ('webgl2', 'webgl', … or 'cpu'); null off gpu.js. */
  gpuMode: string | null;
  /** True when gpu.js runs on a GPU path (WebGL/WebGPU). */
  accelerated: boolean;
  /** The WebGL renderer (a GPU's name, or a software one such as SwiftShader); null off WebGL. */
  renderer: string | null;
  /** Why gpu.js is not on a GPU path (its one-line reason), else null. */
  fallbackReason: string | null;
}

export interface ModelInfo {
  cell: CellKind;
  hidden: number;
  vocabSize: number;
  parameters: number;
  source: string;
}

export type FromWorker =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'gradcheck-result'; id: number; rows: GradCheckRowData[]; milliseconds: number }
  | { type: 'gradflow-result'; id: number; svg: string; summary: string }
  | DatesResult
  | { type: 'train-started'; model: ModelInfo; device: DeviceInfo; trainTokens: number; validationTokens: number }
  | { type: 'train-progress'; step: number; losses: number[]; tokensPerSecond: number }
  | { type: 'evaluation'; step: number; trainLoss: number; validationLoss: number | null }
  | { type: 'samples'; step: number; texts: string[] }
  | { type: 'train-state'; running: boolean }
  | { type: 'saved'; id: number; json: string; fileName: string }
  | { type: 'loaded'; id: number; model: ModelInfo }
  | { type: 'error'; id?: number; context: string; message: string };

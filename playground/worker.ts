/**
 * The page's Web Worker: everything that computes runs here, so the page stays responsive.
 * Float32 training runs on the wasm SIMD backend (initWasmBackend: what it really got is reported
 * to the page); the float64 gradient checks and gradient-flow curves run on the js kernels (the
 * wasm backend has no float64 kernels). Training runs in slices of ~40 ms, so gradient-check and
 * gradient-flow requests are answered between two slices.
 *
 * The training form can also put the model's matrix products on gpu.js (the engine's optional `gpu`
 * backend, loaded only when asked). gpu.js takes WebGL2/WebGL through an OffscreenCanvas where the
 * browser gives a worker one and otherwise falls back, silently, to its CPU kernels; the page is
 * told the kernel class that really runs (`GpuBackend.mode`), never the one that was asked for.
 * Only the training slices (steps, validation, samples) run on the chosen backend: the checks,
 * the gradient-flow curves and the dates model stay on wasm.
 */
import dinosaurNames from '../data/dinos.txt';
import { backendName, setBackend } from '../engine/backend.js';
import { initGpuBackend } from '../engine/gpu/index.js';
import { initWasmBackend, probeWasmFeatures } from '../engine/wasm/index.js';
import type { CellKind } from '../layers/cells/cell.js';
import { runGradCheckCases } from '../training/check/gradcheck.js';
import { cellCase } from '../training/check/cases/cells-cases.js';
import { gradFlowSvg, gradientFlow } from '../training/check/gradflow.js';
import { languageModelFromJSON } from '../training/lm/model.js';
import { heatmapSvg } from '../training/plot/charts.js';
import {
  Seq2SeqDecoder, attentionMap, attributeTranslationError, encodeSource, encodeTarget, seq2seqFromJSON, seq2seqTokens,
  translateIds, type Seq2SeqModelJSON,
} from '../training/seq2seq/model.js';
import { dropRecurrentTerm } from './broken-backward.js';
import { CharModelSession, charCorpusTokens } from './char-model.js';
import type {
  CheckCellKey, DatesRequest, DatesResult, DeviceInfo, FromWorker, GradCheckRequest, GradFlowRequest, ModelInfo, ToWorker, TrainSettings,
} from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  crossOriginIsolated?: boolean;
}
const scope = self as unknown as WorkerScope;
const post = (message: FromWorker): void => scope.postMessage(message);

// ---- gradient check --------------------------------------------------------------------------

const CHECK_CELLS: Record<CheckCellKey, { kind: CellKind; activation?: 'tanh' | 'relu'; op: string }> = {
  'rnn-tanh': { kind: 'rnn', activation: 'tanh', op: 'RNN (tanh)' },
  'rnn-relu': { kind: 'rnn', activation: 'relu', op: 'RNN (relu)' },
  gru: { kind: 'gru', op: 'GRU (notes, full)' },
  'gru-simple': { kind: 'gru-simple', op: 'GRU (simplified)' },
  'gru-reset-after': { kind: 'gru-reset-after', op: 'GRU (reset-after)' },
  lstm: { kind: 'lstm', op: 'LSTM' },
  'lstm-peephole': { kind: 'lstm-peephole', op: 'LSTM (peephole)' },
};

/** Input width D of the checked cells. */
const CHECK_INPUT_SIZE = 3;

/** Ragged lengths: T, then shorter ones down to 1 (the suite's [6, 4, 1] for T = 6, B = 3). */
function raggedLengths(steps: number, batch: number): number[] {
  return Array.from({ length: batch }, (_, b) => (b === 0 ? steps : Math.max(1, Math.round(steps * (1 - b / batch)) - 1)));
}

function gradCheck(req: GradCheckRequest): void {
  const spec = CHECK_CELLS[req.cell];
  if (!spec) throw new Error(`gradient check: expected a cell among ${Object.keys(CHECK_CELLS).join(', ')}, got ${req.cell}`);
  const start = performance.now();
  const testCase = cellCase(
    spec.op, spec.kind, spec.activation ? { activation: spec.activation } : {},
    {
      steps: req.steps, batch: req.batch, inputSize: CHECK_INPUT_SIZE, hidden: req.hidden,
      lengths: req.mask ? raggedLengths(req.steps, req.batch) : null,
    },
    req.broken ? dropRecurrentTerm : undefined,
  );
  const rows = runGradCheckCases([testCase], 1234).map((r) => ({
    name: r.name, shape: r.shape, analyticNorm: r.analyticNorm, numericNorm: r.numericNorm, relError: r.relError, pass: r.pass,
  }));
  post({ type: 'gradcheck-result', id: req.id, rows, milliseconds: performance.now() - start });
}

// ---- gradient flow ---------------------------------------------------------------------------

function gradFlow(req: GradFlowRequest): void {
  const common = { steps: req.steps, recurrentScale: req.recurrentScale, hidden: 32, batch: 8, seed: 1 };
  const results = [
    gradientFlow({ ...common, cell: 'rnn', activation: req.activation }),
    gradientFlow({ ...common, cell: 'gru' }),
    gradientFlow({ ...common, cell: 'lstm', forgetBias: req.forgetBias }),
  ];
  const label = { rnn: `RNN (${req.activation})`, gru: 'GRU', lstm: 'LSTM' } as Record<string, string>;
  const summary = results
    .map((r) => `${label[r.cell]}: ‖∂L/∂a⟨0⟩‖ = ${r.norms[0].toExponential(2)}`)
    .join('; ');
  post({ type: 'gradflow-result', id: req.id, svg: gradFlowSvg(results), summary });
}

// ---- the dates model (attention) -------------------------------------------------------------

/** The shipped model (scripts/train-playground-dates.ts), fetched from the page's folder on first use. */
let dates: Promise<{ decoder: Seq2SeqDecoder; note: string }> | null = null;

async function loadDatesModel(): Promise<{ decoder: Seq2SeqDecoder; note: string }> {
  const url = new URL('./dates-model.json', import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`dates-model.json: expected the shipped model file, got HTTP ${response.status}`);
  const json = (await response.json()) as Seq2SeqModelJSON;
  const model = seq2seqFromJSON(json, 'dates-model.json');
  const t = json.training ?? {};
  const exact = typeof t.validationExactMatch === 'number' ? `${(100 * t.validationExactMatch).toFixed(1)} %` : 'n/a';
  const note = `${model.config.cell}, bidirectional encoder H = ${model.config.encoderHidden}, ${model.config.attention} attention; ` +
    `validation exact match ${exact} of ${String(t.validationExamples ?? '?')} held-out dates`;
  return { decoder: new Seq2SeqDecoder(model), note };
}

async function translateDate(req: DatesRequest): Promise<void> {
  dates ??= loadDatesModel().catch((err: unknown) => { dates = null; throw err; });
  const { decoder, note } = await dates;
  const model = decoder.model;
  const source = encodeSource(model, req.text);
  if (source.length === 0) throw new Error('expected a date to translate, got an empty box');
  const nBest = translateIds(decoder, source, { beamWidth: req.beamWidth, nBest: req.beamWidth });
  const best = nBest[0];
  const show = (t: string): string => (t === ' ' ? '␣' : t);
  const heatmap = heatmapSvg({
    title: `attention α⟨t,i⟩: ${req.text} → ${best.text}`,
    values: attentionMap(decoder, source, best.ids),
    rowLabels: [...model.targetVocab.decode(best.ids).map(show), '<EOS>'],
    colLabels: seq2seqTokens(model, req.text).map(show),
    xLabel: 'source token i', yLabel: 'output token t', valueLabel: 'α⟨t,i⟩',
  });
  let analysis: DatesResult['analysis'] = null;
  const expected = req.expected.trim();
  if (expected.length > 0) {
    const verdict = attributeTranslationError(decoder, source, encodeTarget(model, expected), best);
    analysis = { expected, verdict: verdict.verdict, expectedLogProb: verdict.referenceLogProb, outputLogProb: verdict.outputLogProb };
  }
  post({
    type: 'dates-result', id: req.id, heatmap, analysis, modelNote: note,
    nBest: nBest.map((h) => ({ text: h.text, logProb: h.logProb, finished: h.finished })),
  });
}

// ---- training --------------------------------------------------------------------------------

const SLICE_MS = 40;
const EVAL_EVERY_STEPS = 50;
const SAMPLE_EVERY_MS = 2500;

let session: CharModelSession | null = null;
let source = '';
let running = false;
let temperature = 0.8;
let lastEvalStep = 0;
let lastSampleAt = 0;
let smoothLoss = NaN;
/** The backend the worker chose at start (wasm, or js without SIMD), and the one training runs on. */
let floatBackend = 'js';
let trainBackend = 'js';

/** Select where training's float32 products run; report what really runs there. */
async function selectDevice(device: TrainSettings['device']): Promise<DeviceInfo> {
  if (device === 'gpu') {
    // A literal import, so esbuild bundles gpu.js' browser build into the worker (offline, no CDN).
    const gpu = await initGpuBackend({ notice: () => {}, load: () => import('gpu.js') });
    trainBackend = gpu.name;
    return { backend: gpu.name, gpuMode: gpu.mode, accelerated: gpu.accelerated, renderer: gpu.renderer, fallbackReason: gpu.fallbackReason };
  }
  trainBackend = floatBackend;
  return { backend: floatBackend, gpuMode: null, accelerated: false, renderer: null, fallbackReason: null };
}

/** Run `fn` on the training backend, then give the rest of the page's work its backend back. */
function onTrainBackend<T>(fn: () => T): T {
  const previous = setBackend(trainBackend);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

function modelInfo(s: CharModelSession, from: string): ModelInfo {
  const c = s.model.config;
  return { cell: c.cell, hidden: c.hidden, vocabSize: s.model.vocab.size, parameters: s.parameterCount, source: from };
}

function corpusText(settings: Pick<TrainSettings, 'text'>): string {
  return settings.text ?? dinosaurNames;
}

async function startTraining(settings: TrainSettings): Promise<void> {
  running = false;
  const device = await selectDevice(settings.device);
  session = onTrainBackend(() => new CharModelSession(charCorpusTokens(corpusText(settings)), settings));
  source = settings.source;
  temperature = settings.temperature;
  post({
    type: 'train-started', model: modelInfo(session, source), device,
    trainTokens: session.train.length, validationTokens: session.validation.length,
  });
  resetClocks();
  setRunning(true);
}

function resetClocks(): void {
  lastEvalStep = session?.steps ?? 0;
  lastSampleAt = 0;
  smoothLoss = NaN;
}

function setRunning(on: boolean): void {
  const wasRunning = running;
  running = on && session !== null;
  post({ type: 'train-state', running });
  if (running && !wasRunning) setTimeout(trainSlice, 0);
}

function evaluate(s: CharModelSession): void {
  post({ type: 'evaluation', step: s.steps, trainLoss: smoothLoss, validationLoss: s.validationLoss() });
  lastEvalStep = s.steps;
}

function trainSlice(): void {
  if (running && session) onTrainBackend(() => trainSliceOn(session as CharModelSession));
}

function trainSliceOn(s: CharModelSession): void {
  const start = performance.now();
  const losses: number[] = [];
  try {
    while (performance.now() - start < SLICE_MS) {
      const loss = s.step();
      losses.push(loss);
      smoothLoss = Number.isNaN(smoothLoss) ? loss : 0.95 * smoothLoss + 0.05 * loss;
    }
  } catch (err) {
    running = false;
    post({ type: 'train-state', running: false });
    post({ type: 'error', context: 'training', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  const seconds = (performance.now() - start) / 1000;
  post({ type: 'train-progress', step: s.steps, losses, tokensPerSecond: (losses.length * s.seqLen * s.batch) / seconds });
  if (s.steps - lastEvalStep >= EVAL_EVERY_STEPS) evaluate(s);
  if (performance.now() - lastSampleAt >= SAMPLE_EVERY_MS) {
    post({ type: 'samples', step: s.steps, texts: s.samples(5, temperature) });
    lastSampleAt = performance.now();
  }
  setTimeout(trainSlice, 0);
}

function saveModel(id: number): void {
  if (!session) throw new Error('save: there is no model yet (start training first)');
  const name = `seqgrad-${session.model.config.cell}-h${session.model.config.hidden}-${session.steps}steps.json`;
  post({ type: 'saved', id, json: session.toJSON(source), fileName: name });
}

/** Replace the model with a model file's; training resumes with the page's text, T, B and learning rate. */
async function loadModel(id: number, text: string, fileName: string, settings: Omit<TrainSettings, 'cell' | 'hidden'>): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`model file ${fileName} is not valid JSON: ${(err as Error).message}`);
  }
  const model = languageModelFromJSON(json, `model file ${fileName}`);
  if (model.config.level !== 'char') throw new Error(`model file ${fileName}: expected a character-level model, got level '${model.config.level}'`);
  running = false;
  await selectDevice(settings.device);
  session = onTrainBackend(() => new CharModelSession(
    charCorpusTokens(corpusText(settings)), { ...settings, cell: model.config.cell, hidden: model.config.hidden }, model,
  ));
  source = fileName;
  temperature = settings.temperature;
  resetClocks();
  post({ type: 'train-state', running: false });
  post({ type: 'loaded', id, model: modelInfo(session, fileName) });
  const loaded = session;
  post({ type: 'samples', step: loaded.steps, texts: onTrainBackend(() => loaded.samples(5, temperature)) });
}

// ---- dispatch --------------------------------------------------------------------------------

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      const backend = await initWasmBackend({ notice: () => {} });
      setBackend(backend.name);
      floatBackend = trainBackend = backendName();
      const features = probeWasmFeatures();
      post({
        type: 'ready',
        backend: {
          name: backend.name, simd: features.simd,
          relaxedSimd: 'relaxedSimd' in backend ? Boolean(backend.relaxedSimd) : false,
          crossOriginIsolated: scope.crossOriginIsolated === true,
        },
      });
      return;
    }
    case 'gradcheck': return gradCheck(msg);
    case 'gradflow': return gradFlow(msg);
    case 'dates': return translateDate(msg);
    case 'train-start': return startTraining(msg.settings);
    case 'train-pause': return setRunning(false);
    case 'train-resume': return setRunning(true);
    case 'temperature':
      temperature = msg.value;
      return;
    case 'save': return saveModel(msg.id);
    case 'load': return loadModel(msg.id, msg.text, msg.fileName, msg.settings);
  }
}

const CONTEXT: Record<ToWorker['type'], string> = {
  init: 'starting the worker', gradcheck: 'gradient check', gradflow: 'gradient flow', dates: 'dates model', 'train-start': 'training',
  'train-pause': 'training', 'train-resume': 'training', temperature: 'sampling', save: 'saving the model', load: 'loading the model',
};

scope.onmessage = (event) => {
  const msg = event.data;
  handle(msg).catch((err: unknown) => {
    post({
      type: 'error', id: 'id' in msg ? msg.id : undefined, context: CONTEXT[msg.type] ?? msg.type,
      message: err instanceof Error ? err.message : String(err),
    });
  });
};

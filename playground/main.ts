/**
 * The page: reads the controls, sends requests to the worker (worker.ts) and draws its answers.
 * Nothing here computes gradients; the charts are the library's SVG charts (training/plot/charts.ts).
 */
import { lineChartSvg, type LineSeries } from '../training/plot/charts.js';
import type { CheckCellKey, DatesResult, DeviceInfo, FromWorker, GradCheckRowData, ToWorker, TrainSettings } from './protocol.js';

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (msg: ToWorker): void => worker.postMessage(msg);
let nextId = 1;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: the page has no #${id}`);
  return el as T;
}

function showError(context: string, message: string): void {
  byId('errors').textContent = `${context}: ${message}`;
}

function clearError(): void {
  byId('errors').textContent = '';
}

/** A number input's value, checked against its own min and max (one line naming the field otherwise). */
function numberField(id: string, label: string, integer = true): number {
  const input = byId<HTMLInputElement>(id);
  const value = Number(input.value);
  const min = Number(input.min), max = Number(input.max);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new Error(`${label}: expected ${integer ? 'an integer' : 'a number'} from ${input.min} to ${input.max}, got "${input.value}"`);
  }
  return value;
}

// ---- 1. gradient check -----------------------------------------------------------------------

function runGradCheck(event: Event): void {
  event.preventDefault();
  clearError();
  try {
    send({
      type: 'gradcheck', id: nextId++,
      cell: byId<HTMLSelectElement>('gc-cell').value as CheckCellKey,
      steps: numberField('gc-steps', 'Steps T'),
      batch: numberField('gc-batch', 'Batch B'),
      hidden: numberField('gc-hidden', 'Hidden H'),
      mask: byId<HTMLSelectElement>('gc-mask').value === 'ragged',
      broken: byId<HTMLInputElement>('gc-broken').checked,
    });
  } catch (err) {
    showError('gradient check', (err as Error).message);
    return;
  }
  byId<HTMLButtonElement>('gc-run').disabled = true;
  byId('gc-status').textContent = 'Checking…';
}

function showGradCheck(rows: GradCheckRowData[], milliseconds: number): void {
  const table = byId<HTMLTableElement>('gc-table');
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    const cells = [
      r.name, `[${r.shape.join(', ')}]`, r.analyticNorm.toExponential(6), r.numericNorm.toExponential(6),
      r.relError.toExponential(2), r.pass ? 'pass' : 'FAIL',
    ];
    cells.forEach((text, i) => {
      const td = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.setAttribute('scope', 'row');
      td.textContent = text;
      if (i === 5) td.className = r.pass ? 'pass' : 'fail';
      tr.append(td);
    });
    return tr;
  }));
  table.hidden = false;
  const passed = rows.filter((r) => r.pass).length;
  const status = byId('gc-status');
  status.textContent = `${passed} of ${rows.length} pass (${milliseconds.toFixed(0)} ms)` +
    (passed < rows.length ? ' — the check caught a wrong backward pass.' : '.');
  status.dataset.passed = String(passed);
  status.dataset.total = String(rows.length);
  byId<HTMLButtonElement>('gc-run').disabled = false;
}

// ---- 2. gradient flow ------------------------------------------------------------------------

let flowInFlight = false;
let flowPending = false;

function requestGradFlow(): void {
  const steps = Number(byId<HTMLInputElement>('gf-steps').value);
  const recurrentScale = Number(byId<HTMLInputElement>('gf-scale').value);
  const forgetBias = Number(byId<HTMLInputElement>('gf-bias').value);
  byId('gf-steps-out').textContent = String(steps);
  byId('gf-scale-out').textContent = recurrentScale.toFixed(2);
  byId('gf-bias-out').textContent = forgetBias.toFixed(1);
  if (flowInFlight) {
    flowPending = true; // redraw with the latest values once the current answer is in
    return;
  }
  flowInFlight = true;
  send({
    type: 'gradflow', id: nextId++, steps, recurrentScale, forgetBias,
    activation: byId<HTMLSelectElement>('gf-activation').value as 'tanh' | 'relu',
  });
}

function showGradFlow(svg: string, summary: string): void {
  const plot = byId('gf-plot');
  plot.innerHTML = svg;
  plot.setAttribute('aria-label', `Gradient norms over time. ${summary}`);
  byId('gf-summary').textContent = summary;
  flowInFlight = false;
  if (flowPending) {
    flowPending = false;
    requestGradFlow();
  }
}

// ---- 3. training -----------------------------------------------------------------------------

const MAX_PLOT_POINTS = 400;
let trainLosses: number[] = [];
let smoothed: [number, number][] = [];
let validation: [number, number][] = [];
let running = false;

function corpusChoice(): Pick<TrainSettings, 'text' | 'source'> {
  const choice = (document.querySelector('input[name="corpus"]:checked') as HTMLInputElement | null)?.value ?? 'dinos';
  if (choice === 'dinos') return { text: null, source: 'dinosaur names' };
  const text = byId<HTMLTextAreaElement>('tr-text').value;
  if (text.trim().length === 0) throw new Error('Text: expected some text to train on (paste it or drop a file), got an empty box');
  return { text, source: byId('tr-text').dataset.source ?? 'pasted text' };
}

/** The text and the optimisation settings of the form (a loaded model trains on with them too). */
function runSettings(): Omit<TrainSettings, 'cell' | 'hidden'> {
  return {
    ...corpusChoice(),
    seqLen: numberField('tr-steps', 'Steps T'),
    batch: numberField('tr-batch', 'Batch B'),
    lr: numberField('tr-lr', 'Learning rate', false),
    temperature: Number(byId<HTMLInputElement>('tr-temp').value),
    device: byId<HTMLSelectElement>('tr-device').value === 'gpu' ? 'gpu' : 'wasm',
  };
}

/** What the training really runs on, in words (gpu.js' real kernel class, not the one asked for). */
function deviceText(d: DeviceInfo): string {
  if (d.gpuMode === null) return `matrix products on ${d.backend === 'wasm' ? 'WebAssembly SIMD' : 'plain JavaScript'}`;
  if (d.accelerated) {
    const software = d.renderer !== null && /swiftshader|llvmpipe|softpipe|software/i.test(d.renderer);
    return `matrix products on gpu.js, mode ${d.gpuMode} (WebGL${d.renderer ? `, renderer ${d.renderer}` : ''}` +
      `${software ? ': a software rasteriser on the CPU, not a GPU' : ''})`;
  }
  return `matrix products on gpu.js, mode ${d.gpuMode}: not on a GPU (${d.fallbackReason ?? 'gpu.js fell back to its CPU kernels'})`;
}

function startTraining(event: Event): void {
  event.preventDefault();
  clearError();
  let settings: TrainSettings;
  try {
    settings = {
      ...runSettings(),
      cell: byId<HTMLSelectElement>('tr-cell').value as TrainSettings['cell'],
      hidden: numberField('tr-hidden', 'Hidden H'),
    };
  } catch (err) {
    showError('training', (err as Error).message);
    return;
  }
  trainLosses = [];
  smoothed = [];
  validation = [];
  byId('tr-samples').replaceChildren();
  byId('tr-status').textContent = 'Preparing the text…';
  send({ type: 'train-start', settings });
}

function drawLoss(): void {
  const series: LineSeries[] = [];
  const every = Math.max(1, Math.ceil(smoothed.length / MAX_PLOT_POINTS));
  const thinned = smoothed.filter((_, i) => i % every === 0 || i === smoothed.length - 1);
  if (thinned.length > 0) series.push({ name: 'train (smoothed)', points: thinned });
  if (validation.length > 0) series.push({ name: 'validation', points: validation });
  if (series.length === 0) return;
  const plot = byId('tr-plot');
  plot.innerHTML = lineChartSvg({ title: 'Loss per character', xLabel: 'step', yLabel: 'nats', series });
  const last = smoothed[smoothed.length - 1];
  plot.setAttribute('aria-label', `Loss curve: training loss ${last[1].toFixed(3)} at step ${last[0]}` +
    (validation.length ? `, validation loss ${validation[validation.length - 1][1].toFixed(3)}` : ''));
}

function onProgress(step: number, losses: number[], tokensPerSecond: number): void {
  let s = smoothed.length ? smoothed[smoothed.length - 1][1] : losses[0];
  losses.forEach((loss, i) => {
    trainLosses.push(loss);
    s = 0.95 * s + 0.05 * loss;
    smoothed.push([step - losses.length + i + 1, s]);
  });
  const status = byId('tr-status');
  const first = trainLosses.slice(0, 10);
  const firstMean = first.reduce((a, b) => a + b, 0) / first.length;
  status.textContent = `step ${step} · loss ${s.toFixed(3)} (first steps ${firstMean.toFixed(3)})` +
    (validation.length ? ` · validation ${validation[validation.length - 1][1].toFixed(3)}` : '') +
    ` · ${Math.round(tokensPerSecond).toLocaleString('en')} characters/s`;
  status.dataset.step = String(step);
  status.dataset.firstLoss = String(firstMean);
  status.dataset.loss = String(s);
  drawLoss();
}

function setRunning(on: boolean, hasModel = true): void {
  running = on;
  const pause = byId<HTMLButtonElement>('tr-pause');
  pause.disabled = !hasModel;
  pause.textContent = on ? 'Pause' : 'Resume';
  pause.setAttribute('aria-pressed', on ? 'false' : 'true');
  byId<HTMLButtonElement>('tr-save').disabled = !hasModel;
}

function showSamples(texts: string[]): void {
  byId('tr-samples').replaceChildren(...texts.map((t) => {
    const li = document.createElement('li');
    li.textContent = t.length > 0 ? t : '(empty)';
    return li;
  }));
}

function download(json: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function useFileAsText(file: File): Promise<void> {
  const area = byId<HTMLTextAreaElement>('tr-text');
  area.value = await file.text();
  area.dataset.source = file.name;
  (document.querySelector('input[name="corpus"][value="text"]') as HTMLInputElement).checked = true;
}

// ---- 4. the dates model -----------------------------------------------------------------------

function translateDate(event: Event): void {
  event.preventDefault();
  clearError();
  const text = byId<HTMLInputElement>('dt-input').value;
  if (text.trim().length === 0) {
    showError('dates model', 'expected a date to translate, got an empty box');
    return;
  }
  byId<HTMLButtonElement>('dt-run').disabled = true;
  byId('dt-output').textContent = 'Translating…';
  send({
    type: 'dates', id: nextId++, text,
    beamWidth: Number(byId<HTMLSelectElement>('dt-beam').value),
    expected: byId<HTMLInputElement>('dt-expected').value,
  });
}

const VERDICTS = {
  correct: 'The output is the expected answer.',
  search: 'Search at fault: the model gives your answer a higher probability than its own output — the beam did not find it (try a wider beam).',
  model: 'Model at fault: the model gives its own output at least the probability of your answer — a wider beam would not help (more data, a bigger model).',
};

function showDates(msg: DatesResult): void {
  byId<HTMLButtonElement>('dt-run').disabled = false;
  byId('dates-model').textContent = `Shipped model: ${msg.modelNote}.`;
  const best = msg.nBest[0];
  const output = byId('dt-output');
  output.textContent = `→ ${best.text}${best.finished ? '' : ' (cut at the length limit)'}`;
  output.dataset.output = best.text;
  const body = byId<HTMLTableElement>('dt-nbest').tBodies[0];
  body.replaceChildren(...msg.nBest.map((h, i) => {
    const tr = document.createElement('tr');
    const cells = [String(i + 1), h.text, h.logProb.toFixed(4)];
    cells.forEach((text, k) => {
      const td = document.createElement(k === 0 ? 'th' : 'td');
      if (k === 0) td.setAttribute('scope', 'row');
      td.textContent = text;
      tr.append(td);
    });
    return tr;
  }));
  byId<HTMLTableElement>('dt-nbest').hidden = false;
  const heatmap = byId('dt-heatmap');
  heatmap.innerHTML = msg.heatmap;
  heatmap.setAttribute('aria-label', `Attention weights of ${best.text}`);
  const analysis = byId('dt-analysis');
  if (msg.analysis) {
    const a = msg.analysis;
    analysis.textContent = `Error analysis: log P(expected “${a.expected}” | x) = ${a.expectedLogProb.toFixed(4)}, ` +
      `log P(output | x) = ${a.outputLogProb.toFixed(4)}. ${VERDICTS[a.verdict]}`;
    analysis.dataset.verdict = a.verdict;
  } else {
    analysis.textContent = '';
    delete analysis.dataset.verdict;
  }
}

// ---- wiring ----------------------------------------------------------------------------------

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'ready': {
      const b = msg.backend;
      const el = byId('backend');
      el.textContent = `Backend: ${b.name}` +
        (b.name === 'wasm' ? ` (WebAssembly SIMD128${b.relaxedSimd ? ' + relaxed SIMD fused multiply-add' : ', mul + add'})` : ' (plain JavaScript: no WebAssembly SIMD here)') +
        ' for training; float64 checks run on the js kernels.' +
        (b.crossOriginIsolated ? ' Cross-origin isolated.' : '');
      el.dataset.backend = b.name;
      requestGradFlow();
      return;
    }
    case 'gradcheck-result': return showGradCheck(msg.rows, msg.milliseconds);
    case 'gradflow-result': return showGradFlow(msg.svg, msg.summary);
    case 'dates-result': return showDates(msg);
    case 'train-started': {
      byId('tr-status').textContent = `Training a ${msg.model.cell} (H = ${msg.model.hidden}, ${msg.model.vocabSize} symbols, ` +
        `${msg.model.parameters.toLocaleString('en')} parameters) on ${msg.model.source}: ${msg.trainTokens.toLocaleString('en')} characters, ` +
        `${msg.validationTokens.toLocaleString('en')} for validation…`;
      const device = byId('tr-device-status');
      device.textContent = `Running: ${deviceText(msg.device)}.`;
      device.dataset.backend = msg.device.backend;
      device.dataset.gpuMode = msg.device.gpuMode ?? '';
      device.dataset.renderer = msg.device.renderer ?? '';
      return;
    }
    case 'train-progress': return onProgress(msg.step, msg.losses, msg.tokensPerSecond);
    case 'evaluation':
      if (msg.validationLoss !== null) validation.push([msg.step, msg.validationLoss]);
      drawLoss();
      return;
    case 'samples': return showSamples(msg.texts);
    case 'train-state': return setRunning(msg.running);
    case 'saved': return download(msg.json, msg.fileName);
    case 'loaded': {
      trainLosses = [];
      smoothed = [];
      validation = [];
      const status = byId('tr-status');
      status.textContent = `Loaded ${msg.model.source}: a ${msg.model.cell} (H = ${msg.model.hidden}, ${msg.model.vocabSize} symbols, ` +
        `${msg.model.parameters.toLocaleString('en')} parameters). Resume to train it further.`;
      status.dataset.loaded = msg.model.source;
      setRunning(false);
      return;
    }
    case 'error':
      if (msg.context === 'gradient check') {
        byId<HTMLButtonElement>('gc-run').disabled = false;
        byId('gc-status').textContent = '';
      }
      if (msg.context === 'gradient flow') flowInFlight = false;
      if (msg.context === 'dates model') {
        byId<HTMLButtonElement>('dt-run').disabled = false;
        byId('dt-output').textContent = '';
      }
      showError(msg.context, msg.message);
      return;
  }
};

worker.onerror = (event) => {
  console.error('playground worker:', event.message);
  showError('worker', event.message || 'the worker failed to start');
};

byId('gc-form').addEventListener('submit', runGradCheck);
byId('gf-form').addEventListener('submit', (e) => e.preventDefault());
for (const id of ['gf-steps', 'gf-scale', 'gf-bias', 'gf-activation']) byId(id).addEventListener('input', requestGradFlow);
byId('tr-form').addEventListener('submit', startTraining);
byId('dt-form').addEventListener('submit', translateDate);
byId('tr-pause').addEventListener('click', () => send({ type: running ? 'train-pause' : 'train-resume' }));
byId<HTMLInputElement>('tr-temp').addEventListener('input', (e) => {
  const value = Number((e.target as HTMLInputElement).value);
  byId('tr-temp-out').textContent = value.toFixed(1);
  send({ type: 'temperature', value });
});
byId('tr-save').addEventListener('click', () => send({ type: 'save', id: nextId++ }));
byId<HTMLInputElement>('tr-load').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (!file) return;
  clearError();
  try {
    send({ type: 'load', id: nextId++, text: await file.text(), fileName: file.name, settings: runSettings() });
  } catch (err) {
    showError('loading the model', (err as Error).message);
  }
  input.value = '';
});
byId<HTMLInputElement>('tr-file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) await useFileAsText(file);
});
const area = byId<HTMLTextAreaElement>('tr-text');
area.addEventListener('dragover', (e) => { e.preventDefault(); area.classList.add('dragging'); });
area.addEventListener('dragleave', () => area.classList.remove('dragging'));
area.addEventListener('drop', async (e) => {
  e.preventDefault();
  area.classList.remove('dragging');
  const file = e.dataTransfer?.files[0];
  if (file) await useFileAsText(file);
});
area.addEventListener('input', () => {
  delete area.dataset.source;
  (document.querySelector('input[name="corpus"][value="text"]') as HTMLInputElement).checked = true;
});

send({ type: 'init' });

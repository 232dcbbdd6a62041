/**
 * The playground in a real browser: Debian's Chromium, driven headless by playwright-core (no
 * browser download). Skipped, with one line saying so, where /usr/bin/chromium is not installed.
 * Screenshots go to out/playground/ (git-ignored). Any console error or uncaught page error fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { loadLanguageModel } from '../../training/lm/model-file.js';
import { generateDatePairs } from '../../training/seq2seq/dates.js';
import { sampleText } from '../../training/lm/use.js';
import { buildPlayground, servePlayground } from '../../scripts/playground.js';
import { runSeqgrad } from '../cli/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.log(`spec/playground/browser: skipped — ${CHROMIUM} is not installed (apt-get install chromium)`);

const SHOTS = join(process.cwd(), 'out', 'playground');

/**
 * Wait until `expression` (JavaScript run in the page; a string, as this file is type-checked
 * without the DOM's types) is true.
 */
async function inPage(page: Page, expression: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(expression, null, { timeout });
}

/** The step count of the training panel's status line. */
async function trainedSteps(page: Page): Promise<number> {
  return Number(await page.getAttribute('#tr-status', 'data-step'));
}

describe.skipIf(!HAVE_CHROMIUM)('the playground in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const cliModel = join(SHOTS, 'cli-gru-model.json');
  /** `seqgrad train` of a small model for the page to load, spawned while the browser starts. */
  let cliTraining: ReturnType<typeof runSeqgrad>;

  beforeAll(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    cliTraining = runSeqgrad(['train', '--data', 'data/dinos.txt', '--cell', 'gru', '--hidden', '12', '--steps', '5', '--seq-len', '8', '--batch', '4', '--out', cliModel, '--json']);
    const dir = await buildPlayground(mkdtempSync(join(tmpdir(), 'seqgrad-playground-')));
    const served = await servePlayground(dir, 0);
    server = served.server;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(served.url);
    await page.waitForSelector('#backend[data-backend]', { timeout: 20_000 });
  }, 60_000);

  afterEach(async () => {
    expect(problems).toEqual([]);
    expect(await page.textContent('#errors')).toBe('');
  });

  it('says which backend the worker really got (wasm SIMD in this Chromium), cross-origin isolated', async () => {
    expect(await page.getAttribute('#backend', 'data-backend')).toBe('wasm');
    expect(await page.textContent('#backend')).toMatch(/WebAssembly SIMD128.*Cross-origin isolated/);
  });

  it('gradient check: every row of all seven cells passes; the broken backward makes rows fail', async () => {
    const run = async (): Promise<{ passed: number; total: number }> => {
      await page.locator('#gc-status').evaluate((el) => el.removeAttribute('data-total'));
      await page.press('#gc-hidden', 'Enter'); // the keyboard submits the form
      await page.waitForSelector('#gc-status[data-total]', { timeout: 20_000 });
      return {
        passed: Number(await page.getAttribute('#gc-status', 'data-passed')),
        total: Number(await page.getAttribute('#gc-status', 'data-total')),
      };
    };
    const cells = await page.$$eval('#gc-cell option', (options) => options.map((o) => o.getAttribute('value') ?? ''));
    expect(cells).toHaveLength(7);
    for (const cell of cells) {
      await page.selectOption('#gc-cell', cell);
      const { passed, total } = await run();
      // W_x, W_a, b, x, h0 (+ c0 for the LSTMs, + b_a for the reset-after GRU, + peepholes).
      expect(total, cell).toBeGreaterThanOrEqual(5);
      expect(passed, cell).toBe(total);
    }
    await page.selectOption('#gc-cell', 'lstm');
    await page.fill('#gc-steps', '8');
    await page.selectOption('#gc-mask', 'none');
    expect(await run()).toEqual({ passed: 6, total: 6 });
    await page.check('#gc-broken');
    const broken = await run();
    expect(broken.passed).toBeLessThan(broken.total);
    expect(await page.textContent('#gc-table tbody')).toMatch(/FAIL/);
    await page.locator('#gradcheck').screenshot({ path: join(SHOTS, 'gradcheck-broken.png') });
    await page.uncheck('#gc-broken');
  });

  it('gradient flow: moving a slider with the keyboard redraws the plot', async () => {
    await page.waitForSelector('#gf-plot svg');
    const before = await page.innerHTML('#gf-plot');
    expect(before).toContain('T = 60');
    await page.focus('#gf-scale');
    for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowRight'); // scale 1 → 2
    await inPage(page, `document.querySelector('#gf-scale-out').textContent === '2.00'`);
    await inPage(page, `document.querySelector('#gf-plot').innerHTML !== ${JSON.stringify(before)}`);
    await page.focus('#gf-steps');
    await page.keyboard.press('End'); // T = 200
    await inPage(page, `document.querySelector('#gf-plot').innerHTML.includes('T = 200')`);
    expect(await page.textContent('#gf-summary')).toMatch(/RNN \(tanh\).*GRU.*LSTM/);
    await page.locator('#gradflow').screenshot({ path: join(SHOTS, 'gradflow.png') });
  });

  it('trains the dinosaur model for a few hundred steps: the loss falls, samples appear, pause stops it', async () => {
    await page.click('#tr-start');
    await inPage(page, `Number(document.querySelector('#tr-status').dataset.step) >= 300`, 40_000);
    const first = Number(await page.getAttribute('#tr-status', 'data-first-loss'));
    const now = Number(await page.getAttribute('#tr-status', 'data-loss'));
    expect(first).toBeGreaterThan(3); // ≈ ln 28 at the start
    expect(now).toBeLessThan(first - 0.8);
    await page.waitForSelector('#tr-samples li');
    const samples = await page.$$eval('#tr-samples li', (items) => items.map((li) => li.textContent ?? ''));
    expect(samples.length).toBe(5);
    expect(samples.join('')).toMatch(/[a-z]{3}/);
    await page.waitForSelector('#tr-plot svg');
    await page.click('#tr-pause');
    await page.waitForSelector('#tr-pause[aria-pressed="true"]');
    const paused = await trainedSteps(page);
    await page.waitForTimeout(300);
    expect(await trainedSteps(page)).toBe(paused);
    await page.screenshot({ path: join(SHOTS, 'train-1280x800.png'), fullPage: true });
  });

  it('saves the model (a file the CLI loads) and loads it back into the page', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#tr-save')]);
    const file = join(SHOTS, download.suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^seqgrad-lstm-h64-\d+steps\.json$/);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.kind).toBe('seqgrad.language-model');
    // The CLI's loader (seqgrad sample --model …) reads it, and the trained model makes names.
    const model = loadLanguageModel(file);
    expect(model.config).toMatchObject({ cell: 'lstm', hidden: 64, level: 'char' });
    expect(sampleText(model, { count: 3, seed: 1, temperature: 0.5 }).map((s) => s.text).join(' ')).toMatch(/[a-z]{3}/);

    await page.locator('#tr-samples').evaluate((el) => el.replaceChildren());
    await page.setInputFiles('#tr-load', file);
    await inPage(page, `document.querySelector('#tr-status').dataset.loaded === ${JSON.stringify(download.suggestedFilename())}`);
    await page.waitForSelector('#tr-samples li');
    expect(await page.textContent('#tr-status')).toMatch(/Loaded .*lstm \(H = 64/);
    // A file that is not a model is refused with one line naming it.
    await page.setInputFiles('#tr-load', { name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"kind": "x"}') });
    await inPage(page, `document.querySelector('#errors').textContent !== ''`);
    expect(await page.textContent('#errors')).toMatch(/model file notes\.json: expected kind "seqgrad.language-model"/);
    await page.locator('#errors').evaluate((el) => { el.textContent = ''; });
  });

  it('the CLI samples from the page\'s model file, and a model the CLI trained loads in the page', async () => {
    const pageModel = readdirSync(SHOTS).find((f) => /^seqgrad-lstm-h64-\d+steps\.json$/.test(f));
    expect(pageModel).toBeDefined();
    const [sample, train] = await Promise.all([
      runSeqgrad(['sample', '--model', join(SHOTS, pageModel!), '--n', '3', '--seed', '2', '--json']),
      cliTraining,
    ]);
    expect(sample.stderr).toBe('');
    expect(sample.code).toBe(0);
    expect(JSON.parse(sample.stdout).sequences).toHaveLength(3);
    expect(train.code).toBe(0);
    await page.setInputFiles('#tr-load', cliModel);
    await inPage(page, `document.querySelector('#tr-status').dataset.loaded === 'cli-gru-model.json'`);
    expect(await page.textContent('#tr-status')).toMatch(/a gru \(H = 12/);
    // …and training it further in the page works (on the names, with the CLI model's vocabulary).
    await page.click('#tr-pause');
    await inPage(page, `Number(document.querySelector('#tr-status').dataset.step) >= 20`);
    await page.click('#tr-pause');
    await page.waitForSelector('#tr-pause[aria-pressed="true"]');
  }, 60_000);

  it('dates model: a typed date comes back in ISO form, with the n-best, the heatmap and the error analysis', async () => {
    const translateInPage = async (text: string, expected = ''): Promise<string> => {
      await page.locator('#dt-output').evaluate((el) => el.removeAttribute('data-output'));
      await page.fill('#dt-input', text);
      await page.fill('#dt-expected', expected);
      await page.press('#dt-expected', 'Enter');
      await page.waitForSelector('#dt-output[data-output]', { timeout: 20_000 });
      return (await page.getAttribute('#dt-output', 'data-output')) ?? '';
    };
    expect(await translateInPage('3rd of may 79', '1979-05-03')).toBe('1979-05-03');
    expect(await page.getAttribute('#dt-analysis', 'data-verdict')).toBe('correct');
    expect(await page.locator('#dt-nbest tbody tr').count()).toBe(3);
    expect(await page.innerHTML('#dt-heatmap')).toContain('<svg');
    // A wrong expectation: the model prefers its own output, so the model (not the search) is "at fault".
    expect(await translateInPage('3rd of may 79', '1979-05-04')).toBe('1979-05-03');
    expect(await page.getAttribute('#dt-analysis', 'data-verdict')).toBe('model');
    expect(await page.textContent('#dt-analysis')).toMatch(/Model at fault/);
    await page.locator('#dates').screenshot({ path: join(SHOTS, 'dates.png') });
    // Dates in other formats, from the generator (checked against an independent reader in its own spec).
    const pairs = generateDatePairs(5, new Rng(2026));
    let correct = 0;
    for (const pair of pairs) if ((await translateInPage(pair.source)) === pair.target) correct++;
    expect(correct).toBeGreaterThanOrEqual(4);
  });

  it('gpu.js: training runs with its products on gpu.js and the page names the mode that really runs', async () => {
    // What this browser gives a worker: WebGL2/WebGL through an OffscreenCanvas, or nothing (then
    // gpu.js falls back to its CPU kernels and the page must say so rather than claim a GPU).
    const gl = await page.evaluate<string>(`(async () => {
      const probe = 'const c = new OffscreenCanvas(1, 1); postMessage(c.getContext("webgl2") ? "webgl2" : c.getContext("webgl") ? "webgl" : "none");';
      const w = new Worker(URL.createObjectURL(new Blob([probe], { type: 'text/javascript' })));
      const answer = await new Promise((done) => { w.onmessage = (e) => done(e.data); });
      w.terminate();
      return answer;
    })()`);
    await page.selectOption('#tr-device', 'gpu');
    await page.fill('#tr-hidden', '16');
    await page.fill('#tr-steps', '8');
    await page.fill('#tr-batch', '8');
    await page.click('input[name="corpus"][value="dinos"]');
    await page.click('#tr-start');
    await page.waitForSelector('#tr-device-status[data-backend="gpu"]', { timeout: 30_000 });
    const mode = await page.getAttribute('#tr-device-status', 'data-gpu-mode');
    const text = await page.textContent('#tr-device-status');
    if (gl === 'none') {
      expect(mode).toMatch(/^(cpu|webasm)$/);
      expect(text).toMatch(/not on a GPU/);
    } else {
      expect(mode).toBe(gl);
      expect(text).toMatch(new RegExp(`mode ${gl} \\(WebGL`));
      // Chromium without a GPU renders WebGL with SwiftShader: the page must not call that a GPU.
      const renderer = (await page.getAttribute('#tr-device-status', 'data-renderer')) ?? '';
      if (/swiftshader|llvmpipe/i.test(renderer)) expect(text).toMatch(/software rasteriser on the CPU, not a GPU/);
    }
    await inPage(page, `Number(document.querySelector('#tr-status').dataset.step) >= 40`, 60_000);
    const first = Number(await page.getAttribute('#tr-status', 'data-first-loss'));
    expect(Number(await page.getAttribute('#tr-status', 'data-loss'))).toBeLessThan(first);
    await page.click('#tr-pause');
    await page.waitForSelector('#tr-pause[aria-pressed="true"]');
    await page.selectOption('#tr-device', 'wasm');
    console.info(`playground gpu.js test: worker WebGL = ${gl}, gpu.js mode = ${mode}: ${text}`);
  }, 90_000);

  it('fits a phone-width screen without sideways scrolling; every control has a label', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    // Elements reaching past the right edge (inside a scrolling table wrapper is fine), then also
    // text running out of its box (a long sample without spaces once did).
    const sticking = await page.evaluate<string[]>(`[...document.querySelectorAll('body *')]
      .filter((e) => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))`);
    expect(sticking).toEqual([]);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    const unlabelled = await page.$$eval('input, select, textarea', (els) =>
      els.filter((el) => (el as unknown as { labels: { length: number } }).labels.length === 0).map((el) => el.id || el.outerHTML));
    expect(unlabelled).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'phone-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });
});

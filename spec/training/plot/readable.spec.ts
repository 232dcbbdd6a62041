/**
 * Plots a person can read: every plot kind the commands draw is rendered here, and all its text must lie
 * inside the viewBox — each text's box estimated from its font size (0.6 em a character, 0.8 em above the
 * baseline, 0.25 em below), its anchor and its rotation. Also: legends inside the frame, no more than 8
 * labelled decades on a log axis, a zero error not drawn as a value, a colour bar with ticks on the heatmap,
 * t-SNE labels that do not overlap.
 */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { gradFlowSvg, gradientFlow } from '../../../training/check/gradflow.js';
import { lmCurveSvg } from '../../../training/lm/curve.js';
import { heatmapSvg, lineChartSvg, scatterSvg } from '../../../training/plot/charts.js';
import { seq2seqCurveSvg } from '../../../training/seq2seq/curve.js';
import { triggerPlotSvg } from '../../../training/trigger/trigger.js';

interface TextBox {
  text: string;
  corners: [number, number][];
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Every <text> of the SVG with the corners of its estimated box (rotation applied). */
function textBoxes(svg: string): TextBox[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, tag, raw]) => {
    const text = unescapeXml(raw);
    const size = Number(attr(tag, 'font-size') ?? 16);
    const x = Number(attr(tag, 'x') ?? 0);
    const y = Number(attr(tag, 'y') ?? 0);
    const w = [...text].length * 0.6 * size;
    const anchor = attr(tag, 'text-anchor') ?? 'start';
    const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    let corners: [number, number][] = [[x0, y - 0.8 * size], [x0 + w, y - 0.8 * size], [x0, y + 0.25 * size], [x0 + w, y + 0.25 * size]];
    const rotation = /rotate\(([-\d.]+) ([-\d.]+) ([-\d.]+)\)/.exec(attr(tag, 'transform') ?? '');
    if (rotation) {
      const [a, cx, cy] = rotation.slice(1).map(Number);
      const [c, s] = [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)];
      corners = corners.map(([px, py]) => [cx + (px - cx) * c - (py - cy) * s, cy + (px - cx) * s + (py - cy) * c]);
    }
    return { text, corners };
  });
}

/** The texts whose estimated box leaves the viewBox. */
function textOutside(svg: string): string[] {
  const [, , width, height] = (/viewBox="([^"]+)"/.exec(svg)?.[1] ?? '').split(' ').map(Number);
  expect(width).toBeGreaterThan(0);
  return textBoxes(svg)
    .filter((b) => b.corners.some(([x, y]) => x < -0.5 || y < -0.5 || x > width + 0.5 || y > height + 0.5))
    .map((b) => b.text);
}

function rect(svg: string, cls: string): { x: number; y: number; w: number; h: number } {
  const tag = new RegExp(`<rect class="${cls}"[^>]*>`).exec(svg)?.[0] ?? '';
  return { x: Number(attr(tag, 'x')), y: Number(attr(tag, 'y')), w: Number(attr(tag, 'width')), h: Number(attr(tag, 'height')) };
}

/** The frame of a line chart or scatter plot: the last unfilled rect with a dark stroke. */
function frame(svg: string): { x: number; y: number; w: number; h: number } {
  const tag = [...svg.matchAll(/<rect [^>]*fill="none" stroke="#333"\/>/g)].at(-1)?.[0] ?? '';
  return { x: Number(attr(tag, 'x')), y: Number(attr(tag, 'y')), w: Number(attr(tag, 'width')), h: Number(attr(tag, 'height')) };
}

function evaluation(step: number, loss: number, exactMatch: number) {
  return { step, loss, exactMatch, bleu: 0.5, decoded: 10, seconds: step, trainSeconds: step, tokens: 100, perplexity: Math.exp(loss), bitsPerToken: loss / Math.LN2 };
}

const rng = new Rng(3);
const lossHistory = Array.from({ length: 400 }, (_, i) => 3 * Math.exp(-i / 80) + 0.1 * rng.uniform());

describe('every plot kind keeps its text inside the viewBox', () => {
  it('the estimate can fail: a label at the edge is caught', () => {
    expect(textOutside('<svg viewBox="0 0 100 50"><text x="90" y="20" font-size="12">long label</text></svg>')).toEqual(['long label']);
    expect(textOutside('<svg viewBox="0 0 100 50"><text x="10" y="20" font-size="12">ok</text></svg>')).toEqual([]);
    // rotated up by 60°: a long text rises out of the top
    expect(textOutside('<svg viewBox="0 0 100 50"><text x="10" y="40" transform="rotate(-60 10 40)" font-size="12">a rotated label</text></svg>')).toHaveLength(1);
  });

  it('seq2seq curve: legend inside the frame, a zero exact-match error not drawn as a value', () => {
    const svg = seq2seqCurveSvg('seq2seq lstm, attention bahdanau: a long title about the run on the dates pairs', {
      lossHistory, evaluations: [evaluation(100, 1.2, 0.2), evaluation(200, 0.4, 0.9), evaluation(300, 0.1, 1), evaluation(400, 0.05, 1)],
    } as unknown as Parameters<typeof seq2seqCurveSvg>[1]);
    expect(textOutside(svg)).toEqual([]);
    const plot = frame(svg);
    const legend = rect(svg, 'legend');
    expect(legend.x).toBeGreaterThanOrEqual(plot.x);
    expect(legend.x + legend.w).toBeLessThanOrEqual(plot.x + plot.w);
    expect(legend.y + legend.h).toBeLessThanOrEqual(plot.y + plot.h);
    expect(svg).toContain('>1 − greedy exact match (○ on the bottom edge: 0)</text>');
    // the two zeros are hollow marks on the bottom edge; the y axis starts at the smallest real value's decade
    const hollow = [...svg.matchAll(/<circle [^>]*fill="white"[^>]*>/g)];
    expect(hollow).toHaveLength(2);
    for (const [tag] of hollow) expect(Number(attr(tag, 'cy'))).toBe(plot.y + plot.h);
    expect(svg).not.toMatch(/>1e-4</);
  });

  it('LM curve and a many-decade gradient-flow chart: at most 8 labelled decades', () => {
    const lm = lmCurveSvg('char lstm on dinos.txt (H = 128, 1 layer)', { lossHistory, evaluations: [evaluation(200, 1.5, NaN), evaluation(400, 1.2, NaN)] } as unknown as Parameters<typeof lmCurveSvg>[1], 'step', 'char');
    expect(textOutside(lm)).toEqual([]);
    const flows = ['rnn', 'gru', 'lstm'].map((cell) => gradientFlow({ cell: cell as 'rnn', steps: 120, hidden: 4, batch: 2, seed: 1 }));
    const svg = gradFlowSvg(flows);
    expect(textOutside(svg)).toEqual([]);
    const yTicks = [...svg.matchAll(/class="y-tick"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(yTicks.length).toBeGreaterThanOrEqual(2);
    expect(yTicks.length).toBeLessThanOrEqual(8);
    // synthetic: 40 decades, labelled every 5th at most
    const wide = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 's', points: [[0, 1e-30], [1, 1e10]] }] });
    expect([...wide.matchAll(/class="y-tick"/g)].length).toBeLessThanOrEqual(8);
    expect(textOutside(wide)).toEqual([]);
  });

  it('t-SNE scatter of 300 words: axis titles, labels that never overlap, the rest dots', () => {
    const points = Array.from({ length: 300 }, (_, i) => ({ x: rng.normal(), y: rng.normal(), label: `word${i}${i % 7 === 0 ? 'ization' : ''}` }));
    const svg = scatterSvg({ title: 't-SNE of 300 words (vectors.txt, perplexity 30.0)', points, xLabel: 't-SNE dimension 1', yLabel: 't-SNE dimension 2' });
    expect(textOutside(svg)).toEqual([]);
    expect([...svg.matchAll(/<circle /g)]).toHaveLength(300);
    expect(svg).toContain('>t-SNE dimension 1</text>');
    const labels = textBoxes(svg).filter((b) => /^word/.test(b.text));
    expect(labels.length).toBeGreaterThan(10);
    expect(labels.length).toBeLessThan(300);
    const box = (b: TextBox) => ({ x0: Math.min(...b.corners.map((c) => c[0])), x1: Math.max(...b.corners.map((c) => c[0])), y0: Math.min(...b.corners.map((c) => c[1])), y1: Math.max(...b.corners.map((c) => c[1])) });
    const boxes = labels.map(box);
    let overlapping = 0;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        // 1 px of slack: the estimate's descent reaches into the next label's ascent
        if (a.x0 < b.x1 - 1 && b.x0 < a.x1 - 1 && a.y0 < b.y1 - 4 && b.y0 < a.y1 - 4) overlapping++;
      }
    }
    expect(overlapping).toBe(0);
    expect(svg).toMatch(/\d+ of 300 points labelled/);
  });

  it('attention heatmap: axis titles and a colour bar with ticks; long labels stay inside', () => {
    const source = 'Thursday, the third of May nineteen-seventy-nine'.split(' ');
    const output = ['1979', '-', '05', '-', '03', '<EOS>'];
    const values = output.map((_, r) => source.map((__, c) => Math.exp(-((r - c) ** 2))));
    const svg = heatmapSvg({
      title: 'attention α: Thursday, the third of May nineteen-seventy-nine → 1979-05-03', values,
      rowLabels: output, colLabels: source, xLabel: 'source token i', yLabel: 'output token t', valueLabel: 'α⟨t,i⟩',
    });
    expect(textOutside(svg)).toEqual([]);
    expect(svg).toContain('>source token i</text>');
    expect(svg).toContain('>output token t</text>');
    const ticks = [...svg.matchAll(/class="bar-tick"[^>]*>([^<]*)</g)].map((m) => Number(m[1]));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...ticks)).toBeGreaterThanOrEqual(Math.min(...values.flat()) - 1e-9); // on the bar, to a pixel's ten-millionth
    expect(Math.max(...ticks)).toBeLessThanOrEqual(1);
    expect(rect(svg, 'colour-bar').h).toBeGreaterThan(0);
  });

  it('trigger plot: spectrogram heatmap with the ŷ overlay', () => {
    const frames = 400, bands = 16;
    const spectrogram = Matrix.zeros(frames, bands, 'float32');
    for (let i = 0; i < spectrogram.data.length; i++) spectrogram.data[i] = rng.normal();
    const probabilities = Array.from({ length: frames / 4 }, (_, t) => (t > 60 && t < 70 ? 0.9 : 0.05));
    const svg = triggerPlotSvg({ title: 'held-out clip 0: log spectrogram and P(activate) — activate, the, cat', spectrogram, probabilities, pool: 4, windows: [[61, 69]] });
    expect(textOutside(svg)).toEqual([]);
    expect(svg).toContain('>frequency</text>');
  });
});

import { describe, expect, it } from 'vitest';
import { escapeXml, formatTick, heatmapSvg, lineChartSvg, linearTicks, logTicks, scatterSvg } from '../../../training/plot/charts.js';

/**
 * A small well-formedness check: one root <svg>, every tag closed in order, attributes quoted,
 * no raw "<" or stray "&" in text or attribute values. Returns the element names in order.
 */
function checkXml(svg: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  const checkText = (text: string): void => {
    expect(text, `raw text ${JSON.stringify(text)}`).not.toMatch(/</);
    expect(text, `stray & in ${JSON.stringify(text)}`).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  };
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    checkText(svg.slice(last, m.index));
    last = tag.lastIndex;
    const [, closing, name, attrs, selfClosing] = m;
    for (const a of attrs.matchAll(/="([^"]*)"/g)) checkText(a[1]);
    if (closing) {
      expect(stack.pop(), `</${name}> closes the open element`).toBe(name);
    } else {
      if (stack.length === 0) expect(names.length, 'a single root element').toBe(0);
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
  }
  checkText(svg.slice(last));
  expect(stack).toEqual([]);
  expect(names[0]).toBe('svg');
  return names;
}

const tickLabels = (svg: string, cls: string): string[] =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);
const tickYs = (svg: string): number[] => [...svg.matchAll(/<text class="y-tick" x="[^"]*" y="([^"]*)"/g)].map((m) => Number(m[1]));

describe('axis ticks', () => {
  it('log axes get one tick per decade covering the data', () => {
    // 0.03 lies in [10^−2, 10^−1], 250 in [10^2, 10^3].
    expect(logTicks(0.03, 250)).toEqual([0.01, 0.1, 1, 10, 100, 1000]);
    expect(logTicks(1, 100)).toEqual([1, 10, 100]);
    expect(logTicks(2, 3)).toEqual([1, 10]);
    expect(() => logTicks(0, 1)).toThrow(/0 < min/);
  });

  it('linear axes step by 1, 2 or 5 × 10^k', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0.1, 0.35)).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
    expect(linearTicks(0, 1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(linearTicks(-3, 17)).toEqual([0, 5, 10, 15]);
  });

  it('tick labels: plain decimals, exponent form for extreme magnitudes', () => {
    expect([0.001, 0.1, 1, 1000, 1e5, 1e-4, 2.5e-7].map(formatTick)).toEqual(['0.001', '0.1', '1', '1000', '1e5', '1e-4', '2.50e-7']);
  });
});

describe('lineChartSvg', () => {
  const series = [
    { name: 'train', points: [[0, 3], [100, 0.8], [200, 0.05]] as [number, number][] },
    { name: 'val', points: [[0, 3.2], [100, 1.1], [200, 0.3]] as [number, number][] },
  ];

  it('is well-formed SVG with one path per series and a legend', () => {
    const svg = lineChartSvg({ title: 'loss', xLabel: 'step', yLabel: 'nats', series });
    const names = checkXml(svg);
    expect(names.filter((n) => n === 'path')).toHaveLength(2);
    expect(svg).toContain('>train</text>');
    expect(svg).toContain('>val</text>');
  });

  it('a log y axis has decade ticks, equally spaced on the page', () => {
    const svg = lineChartSvg({ title: 'loss', xLabel: 'step', yLabel: 'nats', logY: true, series });
    checkXml(svg);
    // y from 0.05 to 3.2 → decades 0.01 … 10.
    expect(tickLabels(svg, 'y-tick')).toEqual(['0.01', '0.1', '1', '10']);
    const ys = tickYs(svg);
    const gaps = ys.slice(1).map((y, i) => ys[i] - y);
    for (const g of gaps) expect(g).toBeCloseTo(gaps[0], 1);
    expect(() => lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 's', points: [[0, 0]] }] })).toThrow(
      /log y axis needs y > 0, series "s" point 0 has y = 0/,
    );
  });

  it('escapes every piece of user text', () => {
    const svg = lineChartSvg({ title: 'a <b> & "c"', xLabel: "x's", yLabel: '<y>', series: [{ name: '</svg><script>', points: [[0, 1], [1, 2]] }] });
    checkXml(svg);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('x&apos;s');
    expect(escapeXml('a\u0001b')).toBe('a\uFFFDb');
  });

  it('rejects empty or non-finite input', () => {
    expect(() => lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toThrow(/at least one series/);
    expect(() => lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, NaN]] }] })).toThrow(/point 0 is \(0, NaN\)/);
  });
});

describe('scatterSvg and heatmapSvg', () => {
  it('scatter: one circle per point, escaped labels', () => {
    const svg = scatterSvg({ title: 'words', points: [{ x: 0, y: 1, label: 'king' }, { x: 1, y: 0, label: 'Q&A' }, { x: 0.5, y: 0.5 }] });
    const names = checkXml(svg);
    expect(names.filter((n) => n === 'circle')).toHaveLength(3);
    expect(svg).toContain('>Q&amp;A</text>');
  });

  it('heatmap: one cell per value, darkest at the maximum, labels and overlay', () => {
    const svg = heatmapSvg({
      title: 'α',
      values: [[0.1, 0.9], [0.6, 0.4], [0.2, 0.8]],
      rowLabels: ['1979', '-', '05'],
      colLabels: ['3', '<May>'],
      overlay: { name: 'score', values: [1, -0.5] },
    });
    const names = checkXml(svg);
    // 6 cells + 2 overlay bars + the colour bar + the background.
    expect(names.filter((n) => n === 'rect')).toHaveLength(6 + 2 + 1 + 1);
    expect(svg).toContain('&lt;May&gt;');
    expect(svg).toContain('fill="rgb(8,48,107)"><title>1979 / &lt;May&gt;: 0.9</title>');
    expect(svg).toContain('fill="rgb(255,255,255)"><title>1979 / 3: 0.1</title>');
  });

  it('heatmap rejects ragged grids and label counts that do not match', () => {
    expect(() => heatmapSvg({ title: 't', values: [[1, 2], [3]], rowLabels: ['a', 'b'], colLabels: ['x', 'y'] })).toThrow(/row 1 has 1/);
    expect(() => heatmapSvg({ title: 't', values: [[1, 2]], rowLabels: ['a'], colLabels: ['x'] })).toThrow(/expected 2 column labels, got 1/);
  });
});

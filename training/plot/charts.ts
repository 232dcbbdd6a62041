/**
 * Dependency-free SVG charts: loss curves (optionally on a log axis), labelled scatter plots
 * (embeddings in 2-D) and heatmaps (attention weights α⟨t,i⟩). Each function returns a complete
 * standalone SVG document as a string; every piece of user text is XML-escaped.
 *
 * Axes: linear axes get "nice" ticks (1, 2, 5 × 10^k steps); a log axis gets one tick per decade
 * (…, 0.01, 0.1, 1, 10, …) and needs strictly positive values.
 */

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 72, right: 160, top: 44, bottom: 56 };
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LineSeries {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic y axis with decade ticks (all y must be > 0). */
  logY?: boolean;
  series: LineSeries[];
}

export interface ScatterOptions {
  title: string;
  points: { x: number; y: number; label?: string }[];
}

export interface HeatmapOptions {
  title: string;
  /** values[r][c], drawn as row r (top to bottom) and column c (left to right). */
  values: number[][];
  rowLabels: string[];
  colLabels: string[];
  /** One value per column, drawn as a bar strip above the grid (e.g. a per-token score). */
  overlay?: { name: string; values: number[] };
}

/** Escape text for use in SVG/XML content and attribute values. */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // Characters XML 1.0 forbids outright (C0 controls other than tab, LF, CR).
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '\uFFFD');
}

/** Ticks at multiples of a "nice" step (1, 2 or 5 × 10^k) covering [min, max], about `target` of them. */
export function linearTicks(min: number, max: number, target = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new Error(`linearTicks: expected finite min ≤ max, got [${min}, ${max}]`);
  }
  if (min === max) return [min];
  const rough = (max - min) / Math.max(1, target - 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const residual = rough / magnitude;
  const step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    ticks.push(roundToStep(k * step, step));
  }
  return ticks;
}

/** Decade ticks 10^k for every integer k with 10^floor(log10 min) ≤ 10^k ≤ 10^ceil(log10 max). */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) {
    throw new Error(`logTicks: expected 0 < min ≤ max (finite), got [${min}, ${max}]`);
  }
  const lo = Math.floor(Math.log10(min) + 1e-12);
  let hi = Math.ceil(Math.log10(max) - 1e-12);
  if (hi === lo) hi = lo + 1;
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) ticks.push(Number(`1e${k}`));
  return ticks;
}

/** Tick label: plain decimals for moderate magnitudes, exponent form ("1e-5") otherwise. */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) {
    const exponent = Math.floor(Math.log10(abs) + 1e-12);
    const mantissa = value / 10 ** exponent;
    const m = Math.abs(mantissa - Math.round(mantissa)) < 1e-9 ? String(Math.round(mantissa)) : mantissa.toPrecision(3);
    return `${m}e${exponent}`;
  }
  return String(Number(value.toPrecision(6)));
}

/** A line chart of one or more series, with a legend; `logY` puts y on a log scale. */
export function lineChartSvg(opts: LineChartOptions): string {
  const op = 'lineChartSvg';
  if (!opts || !Array.isArray(opts.series) || opts.series.length === 0) {
    throw new Error(`${op}: expected at least one series, got ${opts && Array.isArray(opts.series) ? 0 : 'none'}`);
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of opts.series) {
    if (!Array.isArray(s.points)) throw new Error(`${op}: expected series "${s.name}" to have a points array`);
    s.points.forEach(([x, y], i) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        throw new Error(`${op}: expected finite points, series "${s.name}" point ${i} is (${x}, ${y})`);
      }
      if (opts.logY && y <= 0) {
        throw new Error(`${op}: a log y axis needs y > 0, series "${s.name}" point ${i} has y = ${y}`);
      }
      xs.push(x);
      ys.push(y);
    });
  }
  if (xs.length === 0) throw new Error(`${op}: expected at least one point across the series, got none`);

  const xAxis = linearAxis(Math.min(...xs), Math.max(...xs));
  const yAxis = opts.logY ? logAxis(Math.min(...ys), Math.max(...ys)) : linearAxis(Math.min(...ys), Math.max(...ys));
  const plot = plotArea();
  const px = (x: number): number => plot.x0 + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * plot.width;
  const py = (y: number): number => {
    const t = opts.logY
      ? (Math.log10(y) - Math.log10(yAxis.min)) / (Math.log10(yAxis.max) - Math.log10(yAxis.min))
      : (y - yAxis.min) / (yAxis.max - yAxis.min);
    return plot.y0 + plot.height - t * plot.height;
  };

  const parts: string[] = [svgOpen(opts.title), titleText(opts.title)];
  parts.push(...axesMarkup(plot, xAxis.ticks, yAxis.ticks, px, py));
  parts.push(axisLabels(plot, opts.xLabel, opts.yLabel));
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${fmt(px(x))},${fmt(py(y))}`).join(' ');
    if (s.points.length === 1) {
      const [x, y] = s.points[0];
      parts.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="3" fill="${color}"/>`);
    } else if (d) {
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    const ly = plot.y0 + 8 + i * 18;
    const lx = plot.x0 + plot.width + 14;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 24}" y="${ly + 4}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** A scatter plot with optional text labels next to the points (e.g. words in a 2-D embedding). */
export function scatterSvg(opts: ScatterOptions): string {
  const op = 'scatterSvg';
  if (!opts || !Array.isArray(opts.points) || opts.points.length === 0) {
    throw new Error(`${op}: expected at least one point, got none`);
  }
  opts.points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new Error(`${op}: expected finite points, point ${i} is (${p.x}, ${p.y})`);
  });
  // Pad the data range by 5% so points and their labels stay off the frame.
  const padded = (values: number[]): Axis => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const pad = (hi - lo) * 0.05;
    return linearAxis(lo - pad, hi + pad);
  };
  const xAxis = padded(opts.points.map((p) => p.x));
  const yAxis = padded(opts.points.map((p) => p.y));
  const plot = plotArea(MARGIN.left);
  const px = (x: number): number => plot.x0 + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * plot.width;
  const py = (y: number): number => plot.y0 + plot.height - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * plot.height;

  const parts: string[] = [svgOpen(opts.title), titleText(opts.title)];
  parts.push(...axesMarkup(plot, xAxis.ticks, yAxis.ticks, px, py));
  for (const p of opts.points) {
    const cx = fmt(px(p.x));
    const cy = fmt(py(p.y));
    parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${PALETTE[0]}"/>`);
    if (p.label !== undefined) parts.push(`<text x="${fmt(px(p.x) + 5)}" y="${fmt(py(p.y) - 4)}" font-size="11">${escapeXml(p.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * A heatmap: one cell per value, white (the smallest value) to dark blue (the largest), with row
 * labels on the left and column labels on top (rotated); the optional overlay is a bar strip.
 */
export function heatmapSvg(opts: HeatmapOptions): string {
  const op = 'heatmapSvg';
  const rows = opts.values.length;
  const cols = rows === 0 ? 0 : opts.values[0].length;
  if (rows === 0 || cols === 0) throw new Error(`${op}: expected a non-empty values grid, got ${rows}×${cols}`);
  opts.values.forEach((row, r) => {
    if (row.length !== cols) throw new Error(`${op}: expected every row to have ${cols} values, row ${r} has ${row.length}`);
    row.forEach((v, c) => {
      if (!Number.isFinite(v)) throw new Error(`${op}: expected finite values, values[${r}][${c}] is ${v}`);
    });
  });
  if (opts.rowLabels.length !== rows) throw new Error(`${op}: expected ${rows} row labels, got ${opts.rowLabels.length}`);
  if (opts.colLabels.length !== cols) throw new Error(`${op}: expected ${cols} column labels, got ${opts.colLabels.length}`);
  if (opts.overlay && opts.overlay.values.length !== cols) {
    throw new Error(`${op}: expected ${cols} overlay values (one per column), got ${opts.overlay.values.length}`);
  }

  const cell = Math.max(12, Math.min(36, Math.floor(560 / Math.max(rows, cols))));
  const longestRow = Math.max(...opts.rowLabels.map((l) => l.length));
  const longestCol = Math.max(...opts.colLabels.map((l) => l.length));
  const overlayHeight = opts.overlay ? 60 : 0;
  const left = 16 + Math.min(200, 7 * longestRow);
  const top = 40 + overlayHeight + Math.min(160, 7 * longestCol);
  const width = Math.max(left + cols * cell + 90, 40 + 8 * opts.title.length);
  const height = top + rows * cell + 20;
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of opts.values) for (const v of row) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(opts.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(opts.title)}</text>`,
  ];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = opts.values[r][c];
      const t = hi > lo ? (v - lo) / (hi - lo) : 0;
      parts.push(
        `<rect x="${left + c * cell}" y="${top + r * cell}" width="${cell}" height="${cell}" fill="${blueScale(t)}"><title>${escapeXml(
          `${opts.rowLabels[r]} / ${opts.colLabels[c]}: ${formatTick(v)}`,
        )}</title></rect>`,
      );
    }
    parts.push(
      `<text x="${left - 6}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${escapeXml(opts.rowLabels[r])}</text>`,
    );
  }
  for (let c = 0; c < cols; c++) {
    const x = left + c * cell + cell / 2 + 4;
    const y = top - 6;
    parts.push(`<text x="${x}" y="${y}" transform="rotate(-60 ${x} ${y})" font-size="12">${escapeXml(opts.colLabels[c])}</text>`);
  }
  if (opts.overlay) {
    const values = opts.overlay.values;
    const maxAbs = Math.max(1e-300, ...values.map((v) => Math.abs(v)));
    const base = 40 + overlayHeight - 8;
    for (let c = 0; c < cols; c++) {
      const h = (Math.abs(values[c]) / maxAbs) * (overlayHeight - 16);
      parts.push(
        `<rect x="${left + c * cell + 2}" y="${fmt(base - h)}" width="${cell - 4}" height="${fmt(h)}" fill="${values[c] >= 0 ? PALETTE[1] : PALETTE[3]}"><title>${escapeXml(
          `${opts.overlay.name} ${opts.colLabels[c]}: ${formatTick(values[c])}`,
        )}</title></rect>`,
      );
    }
    parts.push(`<text x="${left + cols * cell + 8}" y="${base}" font-size="12">${escapeXml(opts.overlay.name)}</text>`);
  }
  // Colour key: the range of values.
  const kx = left + cols * cell + 16;
  parts.push(`<rect x="${kx}" y="${top}" width="14" height="14" fill="${blueScale(1)}"/>`);
  parts.push(`<text x="${kx + 18}" y="${top + 11}" font-size="11">${escapeXml(formatTick(hi))}</text>`);
  parts.push(`<rect x="${kx}" y="${top + 20}" width="14" height="14" fill="${blueScale(0)}" stroke="#999"/>`);
  parts.push(`<text x="${kx + 18}" y="${top + 31}" font-size="11">${escapeXml(formatTick(lo))}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

// ---- helpers -------------------------------------------------------------------------------

interface Axis {
  min: number;
  max: number;
  ticks: number[];
}

interface PlotArea {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

function plotArea(rightMargin = MARGIN.right): PlotArea {
  return {
    x0: MARGIN.left,
    y0: MARGIN.top,
    width: WIDTH - MARGIN.left - rightMargin,
    height: HEIGHT - MARGIN.top - MARGIN.bottom,
  };
}

function linearAxis(min: number, max: number): Axis {
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const rough = linearTicks(min, max);
  // Extend the axis outwards to whole steps so every point lies inside the frame.
  const step = rough.length > 1 ? rough[1] - rough[0] : Math.abs(min) || 1;
  const lo = roundToStep(Math.floor(min / step + 1e-9) * step, step);
  const hi = roundToStep(Math.ceil(max / step - 1e-9) * step, step);
  return { min: lo, max: hi, ticks: linearTicks(lo, hi) };
}

function logAxis(min: number, max: number): Axis {
  const ticks = logTicks(min, max);
  return { min: ticks[0], max: ticks[ticks.length - 1], ticks };
}

function svgOpen(title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
  ].join('\n');
}

function titleText(title: string): string {
  return `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`;
}

function axesMarkup(
  plot: PlotArea,
  xTicks: number[],
  yTicks: number[],
  px: (x: number) => number,
  py: (y: number) => number,
): string[] {
  const parts: string[] = [];
  const bottom = plot.y0 + plot.height;
  for (const t of xTicks) {
    const x = fmt(px(t));
    parts.push(`<line x1="${x}" y1="${plot.y0}" x2="${x}" y2="${bottom}" stroke="#e5e5e5"/>`);
    parts.push(`<text class="x-tick" x="${x}" y="${bottom + 16}" text-anchor="middle" font-size="11">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of yTicks) {
    const y = fmt(py(t));
    parts.push(`<line x1="${plot.x0}" y1="${y}" x2="${plot.x0 + plot.width}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text class="y-tick" x="${plot.x0 - 6}" y="${fmt(py(t) + 4)}" text-anchor="end" font-size="11">${escapeXml(formatTick(t))}</text>`);
  }
  parts.push(`<rect x="${plot.x0}" y="${plot.y0}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#333"/>`);
  return parts;
}

function axisLabels(plot: PlotArea, xLabel: string, yLabel: string): string {
  const xMid = plot.x0 + plot.width / 2;
  const yMid = plot.y0 + plot.height / 2;
  return [
    `<text x="${xMid}" y="${plot.y0 + plot.height + 40}" text-anchor="middle" font-size="13">${escapeXml(xLabel)}</text>`,
    `<text x="18" y="${yMid}" transform="rotate(-90 18 ${yMid})" text-anchor="middle" font-size="13">${escapeXml(yLabel)}</text>`,
  ].join('\n');
}

/** White (t = 0) to dark blue (t = 1). */
function blueScale(t: number): string {
  const clamp = Math.min(1, Math.max(0, t));
  const r = Math.round(255 - clamp * (255 - 8));
  const g = Math.round(255 - clamp * (255 - 48));
  const b = Math.round(255 - clamp * (255 - 107));
  return `rgb(${r},${g},${b})`;
}

/** Remove the float noise of k·step (0.30000000000000004 → 0.3). */
function roundToStep(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(20, decimals)));
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

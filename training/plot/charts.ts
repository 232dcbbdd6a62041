/**
 * Dependency-free SVG charts: loss curves (optionally on a log axis), labelled scatter plots
 * (embeddings in 2-D) and heatmaps (attention weights α⟨t,i⟩). Each function returns a complete
 * standalone SVG document as a string; every piece of user text is XML-escaped.
 *
 * Axes: linear axes get "nice" ticks (1, 2, 5 × 10^k steps); a log axis gets decade ticks
 * (…, 0.01, 0.1, 1, 10, …; every 2nd, 5th … decade when there are many) and needs strictly positive
 * values. Every chart has axis titles; legends sit inside the frame; all text stays inside the
 * viewBox (its width estimated as TEXT_EM × font size per character, spec/training/plot checks it).
 */

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 72, right: 24, top: 44, bottom: 56 };
/** Average glyph width of the sans-serif text, in font sizes (a generous estimate: digits are ~0.56). */
const TEXT_EM = 0.6;
/** At most this many labelled decades on a log axis. */
const MAX_LOG_LABELS = 8;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LineSeries {
  name: string;
  points: [number, number][];
  /**
   * On a log axis, y = 0 is allowed (an error rate that reached 0): such points are not drawn as
   * values but as hollow marks on the bottom edge, and the line breaks there.
   */
  zerosOffScale?: boolean;
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
  /** Axis titles (default 'x', 'y'). */
  xLabel?: string;
  yLabel?: string;
}

export interface HeatmapOptions {
  title: string;
  /** values[r][c], drawn as row r (top to bottom) and column c (left to right). */
  values: number[][];
  rowLabels: string[];
  colLabels: string[];
  /** One value per column, drawn as a bar strip above the grid (e.g. a per-token score). */
  overlay?: { name: string; values: number[] };
  /** Axis titles: what the columns and the rows are (default 'column', 'row'). */
  xLabel?: string;
  yLabel?: string;
  /** Title of the colour bar (default 'value'). */
  valueLabel?: string;
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

/**
 * Decade ticks 10^k for every integer k with 10^floor(log10 min) ≤ 10^k ≤ 10^ceil(log10 max); the
 * axis runs over all of them, `labelledLogTicks` picks the ones to label.
 */
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

/** Of many decade ticks, every n-th (n = 1, 2, 5, 10, …) so at most `most` are labelled; the last one kept. */
export function labelledLogTicks(ticks: number[], most = MAX_LOG_LABELS): number[] {
  if (ticks.length <= most) return ticks;
  const steps = [2, 5, 10, 20, 50, 100];
  const every = steps.find((n) => Math.ceil(ticks.length / n) <= most) ?? Math.ceil(ticks.length / most);
  const last = ticks.length - 1;
  return ticks.filter((_, i) => (last - i) % every === 0);
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

/**
 * A line chart of one or more series, with a legend inside the frame (top right); `logY` puts y on
 * a log scale (a series with zerosOffScale may hold y = 0, drawn as hollow marks on the bottom edge).
 */
export function lineChartSvg(opts: LineChartOptions): string {
  const op = 'lineChartSvg';
  if (!opts || !Array.isArray(opts.series) || opts.series.length === 0) {
    throw new Error(`${op}: expected at least one series, got ${opts && Array.isArray(opts.series) ? 0 : 'none'}`);
  }
  const xs: number[] = [];
  const ys: number[] = [];
  const offScale = (s: LineSeries, y: number): boolean => opts.logY === true && s.zerosOffScale === true && y === 0;
  for (const s of opts.series) {
    if (!Array.isArray(s.points)) throw new Error(`${op}: expected series "${s.name}" to have a points array`);
    s.points.forEach(([x, y], i) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        throw new Error(`${op}: expected finite points, series "${s.name}" point ${i} is (${x}, ${y})`);
      }
      if (opts.logY && y <= 0 && !offScale(s, y)) {
        throw new Error(`${op}: a log y axis needs y > 0, series "${s.name}" point ${i} has y = ${y}`);
      }
      xs.push(x);
      if (!offScale(s, y)) ys.push(y);
    });
  }
  if (xs.length === 0) throw new Error(`${op}: expected at least one point across the series, got none`);
  if (ys.length === 0) ys.push(1); // only off-scale zeros: any decade will do

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
  parts.push(...axesMarkup(plot, xAxis.ticks, yAxis.labelled ?? yAxis.ticks, px, py));
  parts.push(axisLabels(plot, opts.xLabel, opts.yLabel));
  const bottom = plot.y0 + plot.height;
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    // A point off the scale breaks the line: the next one starts a new piece.
    let pen = 'M';
    const d = s.points.map(([x, y]) => {
      if (offScale(s, y)) return ((pen = 'M'), '');
      const piece = `${pen}${fmt(px(x))},${fmt(py(y))}`;
      pen = 'L';
      return piece;
    }).filter((piece) => piece.length > 0).join(' ');
    const drawn = s.points.filter(([, y]) => !offScale(s, y));
    if (drawn.length === 1) {
      const [x, y] = drawn[0];
      parts.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="3" fill="${color}"/>`);
    } else if (d) {
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    for (const [x, y] of s.points) {
      if (offScale(s, y)) parts.push(`<circle cx="${fmt(px(x))}" cy="${bottom}" r="3.5" fill="white" stroke="${color}" stroke-width="1.5"><title>${escapeXml(`${s.name}: 0 (off the log scale)`)}</title></circle>`);
    }
  });
  parts.push(...legendMarkup(plot, opts.series.map((s) => (opts.logY && s.zerosOffScale && s.points.some(([, y]) => y === 0) ? `${s.name} (○ on the bottom edge: 0)` : s.name))));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * A scatter plot with text labels next to the points (e.g. words in a 2-D embedding). Labels never
 * overlap: they are placed in the order given (put the important points first), and a point whose
 * label would cover another label stays a dot.
 */
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
  const plot = plotArea();
  const px = (x: number): number => plot.x0 + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * plot.width;
  const py = (y: number): number => plot.y0 + plot.height - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * plot.height;

  const parts: string[] = [svgOpen(opts.title), titleText(opts.title)];
  parts.push(...axesMarkup(plot, xAxis.ticks, yAxis.ticks, px, py));
  parts.push(axisLabels(plot, opts.xLabel ?? 'x', opts.yLabel ?? 'y'));
  for (const p of opts.points) parts.push(`<circle cx="${fmt(px(p.x))}" cy="${fmt(py(p.y))}" r="3" fill="${PALETTE[0]}"/>`);
  const taken: Box[] = [];
  let unlabelled = 0;
  for (const p of opts.points) {
    if (p.label === undefined) continue;
    const box = labelBox(p.label, px(p.x), py(p.y), plot);
    if (!box || taken.some((t) => overlaps(t, box))) {
      unlabelled++;
      continue;
    }
    taken.push(box);
    parts.push(`<text x="${fmt(box.x)}" y="${fmt(box.y + box.h - 2)}" font-size="${SCATTER_FONT}">${escapeXml(p.label)}</text>`);
  }
  if (unlabelled > 0) {
    const note = `${taken.length} of ${taken.length + unlabelled} points labelled (the rest would overlap)`;
    parts.push(`<text x="${WIDTH - 8}" y="${HEIGHT - 8}" text-anchor="end" font-size="11" fill="#555">${escapeXml(note)}</text>`);
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
  const rowLabels = opts.rowLabels.map((l) => clipLabel(l, MAX_LABEL_CHARS));
  const colLabels = opts.colLabels.map((l) => clipLabel(l, MAX_LABEL_CHARS));
  const longestRow = Math.max(...rowLabels.map((l) => l.length));
  const longestCol = Math.max(...colLabels.map((l) => l.length));
  const overlayHeight = opts.overlay ? 60 : 0;
  const left = 40 + Math.ceil(textWidth('x'.repeat(longestRow), 12));
  // Column labels rise at 60°: a label of width w needs w·sin 60° above the grid and reaches w·cos 60° to the right.
  const colRise = Math.ceil(textWidth('x'.repeat(longestCol), 12) * Math.sin(Math.PI / 3));
  const colReach = Math.ceil(textWidth('x'.repeat(longestCol), 12) * Math.cos(Math.PI / 3));
  const top = 40 + overlayHeight + colRise + 8;
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of opts.values) for (const v of row) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const barTicks = hi > lo ? linearTicks(lo, hi, 5) : [lo];
  const valueLabel = opts.valueLabel ?? 'value';
  const barX = left + cols * cell + Math.max(16, colReach);
  const barWidth = Math.max(14 + 6 + Math.max(...barTicks.map((t) => textWidth(formatTick(t), 11))), textWidth(valueLabel, 12));
  const barHeight = Math.max(60, Math.min(rows * cell, 200));
  const gridBottom = top + rows * cell;
  const width = Math.ceil(Math.max(barX + barWidth + 12, textWidth(opts.title, 15) + 20, left + (cols * cell) / 2 + textWidth(opts.xLabel ?? 'column', 13) / 2 + 12));
  const height = Math.max(gridBottom, top + barHeight + 24) + 40;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(opts.title)}</title>`,
    `<defs><linearGradient id="colour-bar" x1="0" y1="1" x2="0" y2="0"><stop offset="0" stop-color="${blueScale(0)}"/><stop offset="1" stop-color="${blueScale(1)}"/></linearGradient></defs>`,
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
      `<text x="${left - 6}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${escapeXml(rowLabels[r])}</text>`,
    );
  }
  for (let c = 0; c < cols; c++) {
    const x = left + c * cell + cell / 2 + 4;
    const y = top - 6;
    parts.push(`<text x="${x}" y="${y}" transform="rotate(-60 ${x} ${y})" font-size="12">${escapeXml(colLabels[c])}</text>`);
  }
  // Axis titles: the rows' on the left (rotated), the columns' under the grid.
  const yMid = top + (rows * cell) / 2;
  parts.push(`<text x="16" y="${yMid}" transform="rotate(-90 16 ${yMid})" text-anchor="middle" font-size="13">${escapeXml(opts.yLabel ?? 'row')}</text>`);
  parts.push(`<text x="${left + (cols * cell) / 2}" y="${gridBottom + 22}" text-anchor="middle" font-size="13">${escapeXml(opts.xLabel ?? 'column')}</text>`);
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
    parts.push(`<text x="${left - 6}" y="${base}" text-anchor="end" font-size="12">${escapeXml(clipLabel(opts.overlay.name, Math.floor((left - 10) / textWidth('x', 12))))}</text>`);
  }
  // Colour bar: the scale from the smallest value (white) to the largest (dark blue), with ticks.
  const barY = (v: number): number => top + barHeight - (hi > lo ? (v - lo) / (hi - lo) : 0) * barHeight;
  parts.push(`<rect class="colour-bar" x="${barX}" y="${top}" width="14" height="${barHeight}" fill="url(#colour-bar)" stroke="#999"/>`);
  for (const t of barTicks) {
    const y = fmt(barY(t));
    parts.push(`<line x1="${barX + 14}" y1="${y}" x2="${barX + 18}" y2="${y}" stroke="#333"/>`);
    parts.push(`<text class="bar-tick" x="${barX + 20}" y="${fmt(barY(t) + 4)}" font-size="11">${escapeXml(formatTick(t))}</text>`);
  }
  parts.push(`<text x="${barX}" y="${top + barHeight + 18}" font-size="12">${escapeXml(valueLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

// ---- helpers -------------------------------------------------------------------------------

interface Axis {
  min: number;
  max: number;
  ticks: number[];
  /** The ticks with a label and a grid line (a log axis with many decades labels some). */
  labelled?: number[];
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Labels longer than this are cut with an ellipsis (rows and columns of a heatmap). */
const MAX_LABEL_CHARS = 28;
const SCATTER_FONT = 11;
const LEGEND_FONT = 12;

/** The estimated width of `text` at `fontSize` (TEXT_EM per character). */
export function textWidth(text: string, fontSize: number): number {
  return [...text].length * TEXT_EM * fontSize;
}

function clipLabel(text: string, most: number): string {
  const chars = [...text];
  return chars.length <= most ? text : `${chars.slice(0, Math.max(1, most - 1)).join('')}…`;
}

/** The box of a scatter label right of and above its point, moved left of it at the right edge; null if it fits nowhere. */
function labelBox(label: string, x: number, y: number, plot: PlotArea): Box | null {
  const w = textWidth(label, SCATTER_FONT);
  const h = SCATTER_FONT + 2;
  const right = plot.x0 + plot.width;
  const bx = x + 5 + w <= right ? x + 5 : x - 5 - w;
  const by = Math.max(plot.y0, y - 4 - h + 2);
  if (bx < plot.x0) return null;
  return { x: bx, y: by, w, h };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** The legend: a white box in the frame's top-right corner, one line per series. */
function legendMarkup(plot: PlotArea, names: string[]): string[] {
  const lineHeight = 18;
  const w = 24 + Math.max(...names.map((n) => textWidth(n, LEGEND_FONT))) + 12;
  const x = plot.x0 + plot.width - w - 8;
  const y = plot.y0 + 8;
  const parts = [`<rect class="legend" x="${fmt(x)}" y="${y}" width="${fmt(w)}" height="${names.length * lineHeight + 8}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`];
  names.forEach((name, i) => {
    const ly = y + 12 + i * lineHeight;
    const color = PALETTE[i % PALETTE.length];
    parts.push(`<line x1="${fmt(x + 6)}" y1="${ly}" x2="${fmt(x + 24)}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${fmt(x + 30)}" y="${ly + 4}" font-size="${LEGEND_FONT}">${escapeXml(name)}</text>`);
  });
  return parts;
}

interface PlotArea {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

function plotArea(): PlotArea {
  return {
    x0: MARGIN.left,
    y0: MARGIN.top,
    width: WIDTH - MARGIN.left - MARGIN.right,
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
  return { min: ticks[0], max: ticks[ticks.length - 1], ticks, labelled: labelledLogTicks(ticks) };
}

function svgOpen(title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
  ].join('\n');
}

/** The chart's title, cut with an ellipsis where it would run past the edges. */
function titleText(title: string): string {
  const fits = Math.floor((WIDTH - 16) / textWidth('x', 15));
  return `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(clipLabel(title, fits))}</text>`;
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

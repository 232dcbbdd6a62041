import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import {
  DATE_FORMATS, dayOfWeek, formatDate, generateDatePair, generateDatePairs, ordinal, writeDatePairsTsv,
} from '../../../training/seq2seq/dates.js';

// An independent reader of human-readable dates: it knows the conventions (month and weekday names,
// ordinals, slash = month/day, dot = day.month, dash = year-month-day, two-digit years 1950–2049),
// not the generator's list of formats. Weekdays are checked with Date.UTC.

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function fullYear(text: string): number {
  const n = Number(text);
  if (text.length === 4) return n;
  if (text.length === 2) return n >= 50 ? 1900 + n : 2000 + n;
  throw new Error(`bad year '${text}'`);
}

function expectedSuffix(day: number): string {
  if (day % 100 >= 11 && day % 100 <= 13) return 'th';
  return day % 10 === 1 ? 'st' : day % 10 === 2 ? 'nd' : day % 10 === 3 ? 'rd' : 'th';
}

/** Returns 'yyyy-mm-dd' or throws with the reason. */
function readDate(source: string): string {
  let s = source.toLowerCase().trim();
  let weekday: number | null = null;
  const dayName = DAY_NAMES.findIndex((name) => s.startsWith(name) || s.startsWith(`${name.slice(0, 3)},`));
  if (dayName >= 0) {
    weekday = dayName;
    s = s.replace(/^[a-z]+,?\s*/, '');
  }
  let year: number, month: number, day: number;
  const monthIndex = MONTH_NAMES.findIndex((name) => new RegExp(`(^|[^a-z])(${name}|${name.slice(0, 3)})([^a-z]|$)`).test(s));
  if (monthIndex >= 0) {
    month = monthIndex + 1;
    const numbers = [...s.matchAll(/(\d+)(st|nd|rd|th)?/g)];
    if (numbers.length !== 2) throw new Error(`expected a day and a year in '${source}'`);
    const yearAt = numbers.findIndex((m) => m[1].length === 4);
    const y = yearAt >= 0 ? numbers[yearAt] : numbers[1];
    const d = yearAt >= 0 ? numbers[1 - yearAt] : numbers[0];
    if (y[2]) throw new Error(`ordinal year in '${source}'`);
    year = fullYear(y[1]);
    day = Number(d[1]);
    if (d[2] && d[2] !== expectedSuffix(day)) throw new Error(`wrong ordinal '${d[0]}' in '${source}'`);
  } else {
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^(\d{4})\/(\d{1,2})\/(\d{1,2})$/))) [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else if ((m = s.match(/^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})$/))) [year, month, day] = [fullYear(m[3]), Number(m[1]), Number(m[2])];
    else if ((m = s.match(/^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})$/))) [year, month, day] = [fullYear(m[3]), Number(m[2]), Number(m[1])];
    else if ((m = s.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/))) [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else if ((m = s.match(/^(\d{4})(\d{2})(\d{2})$/))) [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else throw new Error(`unrecognised date '${source}'`);
  }
  const utc = new Date(Date.UTC(year, month - 1, day));
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) {
    throw new Error(`no such date in '${source}'`);
  }
  if (weekday !== null && utc.getUTCDay() !== weekday) throw new Error(`wrong weekday in '${source}'`);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

describe('date generator', () => {
  it('every generated date reads back to its target, in every format', () => {
    const pairs = generateDatePairs(4000, new Rng(1));
    for (const p of pairs) expect(readDate(p.source), `${p.format}: ${p.source}`).toBe(p.target);
    const seen = new Set(pairs.map((p) => p.format));
    expect([...seen].sort()).toEqual(Object.keys(DATE_FORMATS).sort());
    expect(pairs.some((p) => p.source !== p.source.toLowerCase() && p.source === p.source.toUpperCase())).toBe(true);
    expect(pairs.some((p) => /[a-z]/.test(p.source) && p.source === p.source.toLowerCase())).toBe(true);
    expect(new Set(pairs.map((p) => p.target)).size).toBeGreaterThan(3500);
  });

  it('the examples of the notes for 3 May 1979 (a Thursday)', () => {
    const d = { year: 1979, month: 5, day: 3 };
    expect(formatDate(d, 'd MMMM yyyy')).toBe('3 May 1979');
    expect(formatDate(d, 'MM/dd/yy')).toBe('05/03/79');
    expect(formatDate(d, 'EEEE, MMMM do, yyyy')).toBe('Thursday, May 3rd, 1979');
    expect(formatDate(d, 'do of MMMM yy').toLowerCase()).toBe('3rd of may 79');
    expect(formatDate(d, 'MMMM d, yyyy')).toBe('May 3, 1979');
    expect(formatDate(d, 'd.M.yyyy')).toBe('3.5.1979');
    expect(formatDate(d, 'yyyy-MM-dd')).toBe('1979-05-03');
    expect(formatDate({ year: 2011, month: 12, day: 22 }, 'do of MMMM yy')).toBe('22nd of December 11');
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].map(ordinal)).toEqual(
      ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '31st'],
    );
  });

  it('weekdays agree with Date.UTC for every day of 1950–2049', () => {
    for (let t = Date.UTC(1950, 0, 1); t <= Date.UTC(2049, 11, 31); t += 86_400_000) {
      const d = new Date(t);
      if (dayOfWeek(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) !== d.getUTCDay()) {
        throw new Error(`dayOfWeek wrong for ${d.toISOString()}`);
      }
    }
    expect(dayOfWeek(1979, 5, 3)).toBe(4); // Thursday
    expect(dayOfWeek(2000, 2, 29)).toBe(2); // Tuesday
  });

  it('is deterministic by seed', () => {
    expect(generateDatePairs(50, new Rng(7))).toEqual(generateDatePairs(50, new Rng(7)));
    expect(generateDatePairs(50, new Rng(7))).not.toEqual(generateDatePairs(50, new Rng(8)));
  });

  it('two-digit years are left out when the range leaves 1950–2049', () => {
    const pairs = generateDatePairs(2000, new Rng(3), { minYear: 1900, maxYear: 2100 });
    for (const p of pairs) expect(readDate(p.source)).toBe(p.target);
    expect(pairs.some((p) => p.format.endsWith('yy') && !p.format.endsWith('yyyy'))).toBe(false);
    expect(() => generateDatePair(new Rng(0), { minYear: 1900, formats: ['MM/dd/yy'] })).toThrow(
      /^generateDatePair: expected formats among .*, got 'MM\/dd\/yy'$/,
    );
  });

  it('writes TSV pairs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqgrad-dates-'));
    try {
      const path = join(dir, 'dates.tsv');
      writeDatePairsTsv(path, 20, new Rng(5));
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      expect(lines.length).toBe(20);
      for (const line of lines) {
        const [source, target, ...rest] = line.split('\t');
        expect(rest).toEqual([]);
        expect(readDate(source)).toBe(target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

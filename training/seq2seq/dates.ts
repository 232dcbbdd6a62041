/**
 * Date normalisation data (the notes' attention example): human-readable dates in many formats
 * → ISO 8601 `yyyy-mm-dd`, from a seeded generator.
 *
 *   "3 May 1979", "Thursday, May 3rd, 1979", "3rd of may 79", "05/03/79", "3.5.1979" → "1979-05-03"
 *
 * Order of day and month in the all-numeric formats (documented, fixed):
 *   slashes  month/day/year as in the US:  "05/03/79", "5/3/1979" = 3 May 1979;
 *            with the year first it is year/month/day: "1979/05/03"
 *   dots     day.month.year as in Europe:  "3.5.1979", "03.05.79"  = 3 May 1979
 *   dashes   year-month-day (ISO-like):     "1979-05-03", "1979-5-3"; "19790503" likewise
 * Formats with a month name put the day where the name says ("3 May", "May 3").
 * Two-digit years: 50–99 → 1950–1999, 00–49 → 2000–2049. They are used only when the year range
 * lies within 1950–2049 (the default range), so every source has exactly one reading.
 * Weekdays are computed (Sakamoto's method), so "Thursday, May 3rd, 1979" is always right.
 * Letter case varies: as written (60 %), lower case (30 %), upper case (10 %).
 * Dates: year uniform in [minYear, maxYear], month uniform, day uniform within the month.
 */
import type { Rng } from '../../engine/rng.js';
import { writePairsTsv, type SeqPair } from './tasks.js';

export const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
] as const;
export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export interface CalendarDate {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
}

export interface DatePair extends SeqPair {
  /** Name of the format the source was written in (a key of DATE_FORMATS). */
  format: string;
}

export interface DateOptions {
  /** Default 1950. */
  minYear?: number;
  /** Default 2049. */
  maxYear?: number;
  /** Only these formats (names of DATE_FORMATS); default all that the year range allows. */
  formats?: string[];
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Day of the week, 0 = Sunday … 6 = Saturday (Tomohiko Sakamoto's method, Gregorian calendar). */
export function dayOfWeek(year: number, month: number, day: number): number {
  const offsets = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
  const y = month < 3 ? year - 1 : year;
  return (y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) + offsets[month - 1] + day) % 7;
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st, 22nd, 23rd, …, 31st */
export function ordinal(n: number): string {
  const lastTwo = n % 100;
  if (lastTwo >= 11 && lastTwo <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

export function toIsoDate(d: CalendarDate): string {
  return `${String(d.year).padStart(4, '0')}-${pad2(d.month)}-${pad2(d.day)}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function shortMonth(m: number): string {
  return MONTHS[m - 1].slice(0, 3);
}

function twoDigits(year: number): string {
  return pad2(year % 100);
}

type Formatter = (d: CalendarDate) => string;

/** Every format by name (the names are for reports and tests; examples are for 3 May 1979). */
export const DATE_FORMATS: Readonly<Record<string, Formatter>> = {
  'd MMMM yyyy': (d) => `${d.day} ${MONTHS[d.month - 1]} ${d.year}`, //                3 May 1979
  'dd MMMM yyyy': (d) => `${pad2(d.day)} ${MONTHS[d.month - 1]} ${d.year}`, //         03 May 1979
  'd MMM yyyy': (d) => `${d.day} ${shortMonth(d.month)} ${d.year}`, //                 3 Sep 1979
  'd MMMM yy': (d) => `${d.day} ${MONTHS[d.month - 1]} ${twoDigits(d.year)}`, //       3 May 79
  'MMMM d, yyyy': (d) => `${MONTHS[d.month - 1]} ${d.day}, ${d.year}`, //              May 3, 1979
  'MMM d, yyyy': (d) => `${shortMonth(d.month)} ${d.day}, ${d.year}`, //               Sep 3, 1979
  'MMMM do, yyyy': (d) => `${MONTHS[d.month - 1]} ${ordinal(d.day)}, ${d.year}`, //    May 3rd, 1979
  'EEEE, MMMM do, yyyy': (d) => `${weekday(d)}, ${MONTHS[d.month - 1]} ${ordinal(d.day)}, ${d.year}`, // Thursday, May 3rd, 1979
  'EEEE d MMMM yyyy': (d) => `${weekday(d)} ${d.day} ${MONTHS[d.month - 1]} ${d.year}`, // Thursday 3 May 1979
  'EEEE do MMMM yyyy': (d) => `${weekday(d)} ${ordinal(d.day)} ${MONTHS[d.month - 1]} ${d.year}`, // Thursday 3rd May 1979
  'EEE, d MMM yyyy': (d) => `${weekday(d).slice(0, 3)}, ${d.day} ${shortMonth(d.month)} ${d.year}`, // Thu, 3 May 1979
  'do of MMMM yy': (d) => `${ordinal(d.day)} of ${MONTHS[d.month - 1]} ${twoDigits(d.year)}`, // 3rd of May 79
  'do of MMMM yyyy': (d) => `${ordinal(d.day)} of ${MONTHS[d.month - 1]} ${d.year}`, // 3rd of May 1979
  'the do of MMMM, yyyy': (d) => `the ${ordinal(d.day)} of ${MONTHS[d.month - 1]}, ${d.year}`, // the 3rd of May, 1979
  'yyyy MMMM d': (d) => `${d.year} ${MONTHS[d.month - 1]} ${d.day}`, //                1979 May 3
  'dd-MMM-yy': (d) => `${pad2(d.day)}-${shortMonth(d.month)}-${twoDigits(d.year)}`, // 03-May-79
  'MM/dd/yy': (d) => `${pad2(d.month)}/${pad2(d.day)}/${twoDigits(d.year)}`, //        05/03/79
  'M/d/yyyy': (d) => `${d.month}/${d.day}/${d.year}`, //                                5/3/1979
  'MM/dd/yyyy': (d) => `${pad2(d.month)}/${pad2(d.day)}/${d.year}`, //                 05/03/1979
  'yyyy/MM/dd': (d) => `${d.year}/${pad2(d.month)}/${pad2(d.day)}`, //                 1979/05/03
  'd.M.yyyy': (d) => `${d.day}.${d.month}.${d.year}`, //                                3.5.1979
  'dd.MM.yy': (d) => `${pad2(d.day)}.${pad2(d.month)}.${twoDigits(d.year)}`, //        03.05.79
  'dd.MM.yyyy': (d) => `${pad2(d.day)}.${pad2(d.month)}.${d.year}`, //                 03.05.1979
  'yyyy-MM-dd': (d) => toIsoDate(d), //                                                  1979-05-03
  'yyyy-M-d': (d) => `${d.year}-${d.month}-${d.day}`, //                                1979-5-3
  'yyyyMMdd': (d) => `${d.year}${pad2(d.month)}${pad2(d.day)}`, //                     19790503
};

function weekday(d: CalendarDate): string {
  return WEEKDAYS[dayOfWeek(d.year, d.month, d.day)];
}

function usesTwoDigitYear(format: string): boolean {
  return /(^|[^y])yy($|[^y])/.test(format);
}

function hasLetters(format: string): boolean {
  return /M{3}|E|of|the/.test(format);
}

interface ResolvedOptions {
  minYear: number;
  maxYear: number;
  formats: string[];
}

function resolveOptions(op: string, options: DateOptions): ResolvedOptions {
  const minYear = options.minYear ?? 1950;
  const maxYear = options.maxYear ?? 2049;
  if (!Number.isInteger(minYear) || !Number.isInteger(maxYear) || minYear < 1000 || maxYear > 9999 || maxYear < minYear) {
    throw new Error(`${op}: expected four-digit years with minYear ≤ maxYear, got ${minYear} and ${maxYear}`);
  }
  const twoDigitOk = minYear >= 1950 && maxYear <= 2049;
  const all = Object.keys(DATE_FORMATS).filter((f) => twoDigitOk || !usesTwoDigitYear(f));
  const formats = options.formats ?? all;
  for (const f of formats) {
    if (!all.includes(f)) {
      throw new Error(`${op}: expected formats among ${all.map((x) => `'${x}'`).join(', ')}, got '${f}'`);
    }
  }
  if (formats.length === 0) throw new Error(`${op}: expected at least one format, got none`);
  return { minYear, maxYear, formats };
}

/** A random date: year uniform in [minYear, maxYear], month uniform, day uniform within the month. */
export function randomDate(rng: Rng, minYear = 1950, maxYear = 2049): CalendarDate {
  const year = minYear + rng.int(maxYear - minYear + 1);
  const month = 1 + rng.int(12);
  const day = 1 + rng.int(daysInMonth(year, month));
  return { year, month, day };
}

/** `date` written in the named format (case as written). */
export function formatDate(date: CalendarDate, format: string): string {
  const formatter = DATE_FORMATS[format];
  if (!formatter) throw new Error(`formatDate: expected a format of DATE_FORMATS, got '${format}'`);
  return formatter(date);
}

function pairFrom(rng: Rng, opts: ResolvedOptions): DatePair {
  const date = randomDate(rng, opts.minYear, opts.maxYear);
  const format = opts.formats[rng.int(opts.formats.length)];
  let source = formatDate(date, format);
  if (hasLetters(format)) {
    const u = rng.uniform();
    if (u < 0.3) source = source.toLowerCase();
    else if (u < 0.4) source = source.toUpperCase();
  }
  return { source, target: toIsoDate(date), format };
}

/** One random (human-readable date, ISO date) pair. */
export function generateDatePair(rng: Rng, options: DateOptions = {}): DatePair {
  return pairFrom(rng, resolveOptions('generateDatePair', options));
}

/** n random pairs; the same generator state gives the same pairs. */
export function generateDatePairs(n: number, rng: Rng, options: DateOptions = {}): DatePair[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`generateDatePairs: expected a non-negative integer count, got ${n}`);
  const opts = resolveOptions('generateDatePairs', options);
  return Array.from({ length: n }, () => pairFrom(rng, opts));
}

/** Write n pairs as TSV (`source<TAB>target`, one per line) to `path`, atomically. */
export function writeDatePairsTsv(path: string, n: number, rng: Rng, options: DateOptions = {}): void {
  writePairsTsv(path, generateDatePairs(n, rng, options));
}

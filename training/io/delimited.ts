/**
 * Delimited text records (CSV and TSV) as people's own data files hold them. Pure functions on the
 * text (no file system), shared by the applications that read labelled data (sentiment).
 *
 * CSV (RFC 4180 as spreadsheets write it): fields separated by commas; a field that starts with a
 * double quote runs to the matching closing quote and may hold commas, line breaks and doubled
 * quotes ("" is one "). Lines end in LF or CRLF; a missing final newline is fine; a byte-order mark
 * at the start is dropped. TSV: fields separated by tabs, no quoting (the IANA text/tab-separated-values
 * convention: a tab cannot occur inside a field).
 */

/** One record: its fields and the 1-based line it starts on (a quoted field may span lines). */
export interface DelimitedRecord {
  fields: string[];
  line: number;
}

/** Thrown for a quote left open at the end of the text; `line` is where its record started. */
export class DelimitedSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

/**
 * Split CSV text into records. Blank lines (outside quotes) are skipped. Throws a
 * DelimitedSyntaxError for an unterminated quoted field.
 */
export function parseCsv(text: string): DelimitedRecord[] {
  const src = text.replace(/^\uFEFF/, '');
  const records: DelimitedRecord[] = [];
  let fields: string[] = [], field = '', quoted = false, fieldStarted = false;
  let line = 1, recordLine = 1;
  const endRecord = (): void => {
    fields.push(field);
    // A blank line is one empty, unquoted field: not a record.
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted)) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || (ch === '\r' && src[i + 1] === '\n')) {
      if (ch === '\r') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (quoted) throw new DelimitedSyntaxError(recordLine, `line ${recordLine}: a quoted field is never closed`);
  if (field !== '' || fields.length > 0 || fieldStarted) endRecord();
  return records;
}

/** Split TSV text into records (blank lines skipped; a trailing CR is dropped). */
export function parseTsv(text: string): DelimitedRecord[] {
  const records: DelimitedRecord[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    records.push({ fields: line.split('\t'), line: i + 1 });
  });
  return records;
}

export type DelimitedFormat = 'csv' | 'tsv';

/**
 * The format of a data file: by its extension (.csv; .tsv or .tab), else by its first non-blank
 * line (a tab: TSV; a comma: CSV); null when neither tells.
 */
export function detectDelimitedFormat(path: string, text: string): DelimitedFormat | null {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return 'tsv';
  const first = text.replace(/^\uFEFF/, '').split('\n').find((l) => l.trim() !== '') ?? '';
  if (first.includes('\t')) return 'tsv';
  if (first.includes(',')) return 'csv';
  return null;
}

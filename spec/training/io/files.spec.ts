import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { findJsonErrorOffset, readJsonFile, readTextFile, writeFileAtomic } from '../../../training/io/files.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-io-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes strings, bytes and chunk iterables, replacing the old contents', () => {
    const file = path.join(dir, 'model.json');
    writeFileAtomic(file, '{"v":1}');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"v":1}');
    writeFileAtomic(file, new Uint8Array([104, 105]));
    expect(fs.readFileSync(file, 'utf8')).toBe('hi');
    writeFileAtomic(file, ['a', new Uint8Array([98]), 'ç']);
    expect(fs.readFileSync(file, 'utf8')).toBe('abç');
    expect(fs.readdirSync(dir)).toEqual(['model.json']);
  });

  it('keeps the old file intact and removes the temp file when the data generator fails midway', () => {
    const file = path.join(dir, 'checkpoint.json');
    writeFileAtomic(file, 'old checkpoint');
    function* failing(): Generator<string> {
      yield 'half of a new ';
      yield 'checkpoint';
      throw new Error('NaN in W_ax');
    }
    expect(() => writeFileAtomic(file, failing())).toThrow(/writeFileAtomic: could not write .*checkpoint\.json: NaN in W_ax/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old checkpoint');
    expect(fs.readdirSync(dir)).toEqual(['checkpoint.json']);
  });

  it('cleans up when the final rename fails (the target is a directory)', () => {
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'keep');
    expect(() => writeFileAtomic(target, 'data')).toThrow(/could not write .*taken/);
    expect(fs.readdirSync(dir)).toEqual(['taken']);
    expect(fs.readFileSync(path.join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('names the path when the directory does not exist', () => {
    const file = path.join(dir, 'missing', 'x.json');
    expect(() => writeFileAtomic(file, 'x')).toThrow(/writeFileAtomic: could not write .*missing.*x\.json/);
  });
});

describe('readTextFile and readJsonFile', () => {
  it('return the contents', () => {
    const file = path.join(dir, 'a.json');
    fs.writeFileSync(file, '\uFEFF{"a": [1, 2]}');
    expect(readTextFile(file, 'config')).toBe('\uFEFF{"a": [1, 2]}');
    expect(readJsonFile(file, 'config')).toEqual({ a: [1, 2] });
  });

  it('give one clear line naming the file when it is missing, a directory or empty', () => {
    const missing = path.join(dir, 'nope.txt');
    expect(() => readTextFile(missing, 'training corpus')).toThrow(`readTextFile: training corpus ${missing} does not exist`);
    expect(() => readTextFile(dir, 'training corpus')).toThrow(/is a directory, expected a file/);
    const empty = path.join(dir, 'empty.txt');
    fs.writeFileSync(empty, ' \n\n');
    expect(() => readTextFile(empty, 'training corpus')).toThrow(`readTextFile: training corpus ${empty} is empty`);
  });

  it('report the line and column of a JSON syntax error, on one line', () => {
    const file = path.join(dir, 'bad.json');
    // Line 3 is `  "b": }`: the value is missing where "}" stands, column 8.
    fs.writeFileSync(file, '{\n  "a": 1,\n  "b": }\n');
    let message = '';
    try {
      readJsonFile(file, 'model file');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^readJsonFile: model file .*bad\.json is not valid JSON at line 3, column 8: /);
    expect(message).not.toContain('\n');
  });

  it('locates errors at the right offset in hand-made cases', () => {
    expect(findJsonErrorOffset('{"a": 1}')).toBe(-1);
    expect(findJsonErrorOffset('[1, 2,]')).toBe(6); // "]" after a trailing comma
    expect(findJsonErrorOffset('{"a" 1}')).toBe(5); // missing colon
    expect(findJsonErrorOffset('[01]')).toBe(2); // leading zero: "0" parses, "1" is unexpected
    expect(findJsonErrorOffset('"abc')).toBe(4); // unterminated string: the end
    expect(findJsonErrorOffset('{"a": tru}')).toBe(9);
    expect(findJsonErrorOffset('[1] x')).toBe(4); // trailing garbage
  });

  it('agrees with JSON.parse on which texts are valid (randomly mutated JSON)', () => {
    const rng = new Rng(5);
    const base = JSON.stringify({ tokens: ['<EOS>', 'a', 'é\n'], counts: [1, -2.5e-3, 0], nested: { ok: true, no: null, f: false } }, null, 1);
    const alphabet = '{}[],:"\\ 0123456789-+.eEtrufalsn\n';
    for (let trial = 0; trial < 2000; trial++) {
      const chars = base.split('');
      const edits = 1 + rng.int(2);
      for (let e = 0; e < edits; e++) {
        const at = rng.int(chars.length);
        const kind = rng.int(3);
        const ch = alphabet[rng.int(alphabet.length)];
        if (kind === 0) chars[at] = ch;
        else if (kind === 1) chars.splice(at, 1);
        else chars.splice(at, 0, ch);
      }
      const text = chars.join('');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(findJsonErrorOffset(text) === -1, text).toBe(valid);
    }
  });
});

describe('hostile input files', () => {
  it('refuses a binary file as text (NUL bytes, mostly invalid UTF-8), naming it', () => {
    const bin = path.join(dir, 'program');
    fs.writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x00, 0x00, 0x61, 0x0a]));
    expect(() => readTextFile(bin, 'training corpus')).toThrow(/^readTextFile: training corpus .*program is not a text file \(a NUL byte at character 6\)$/);
    const latin = path.join(dir, 'latin1.txt');
    fs.writeFileSync(latin, Buffer.from([0xe9, 0xe8, 0x20, 0x61, 0x0a]));
    expect(() => readTextFile(latin, 'corpus')).toThrow(/is not a text file \(2 of 5 characters are not valid UTF-8\)/);
    const mostlyFine = path.join(dir, 'fine.txt');
    fs.writeFileSync(mostlyFine, Buffer.concat([Buffer.from('a'.repeat(500)), Buffer.from([0xe9])]));
    expect(readTextFile(mostlyFine, 'corpus')).toHaveLength(501);
  });

  it('names the file of a JSON nested too deeply, parsed or not', () => {
    const deep = path.join(dir, 'deep.json');
    fs.writeFileSync(deep, `{"kind": ${'['.repeat(100000)}${']'.repeat(100000)}}`);
    expect(() => readJsonFile(deep, 'model file')).toThrow(/^readJsonFile: model file .*deep\.json nests deeper than 1000 levels$/);
    fs.writeFileSync(deep, '['.repeat(200000));
    expect(() => readJsonFile(deep, 'model file')).toThrow(/^readJsonFile: model file .*deep\.json is not valid JSON/);
  });
});

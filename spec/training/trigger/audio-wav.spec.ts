import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, readWav, writeWav } from '../../../training/trigger/audio/wav.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-wav-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A WAV file assembled by hand from its fields (the RIFF layout), with optional extra chunks. */
function handWav(opts: {
  format?: number; channels?: number; rate?: number; bits?: number; ints?: number[];
  before?: [string, number[]][]; dataSize?: number; riff?: string;
}): Uint8Array {
  const { format = 1, channels = 1, rate = 16000, bits = 16, ints = [0, 1000, -1000, 32767, -32768] } = opts;
  const bytes: number[] = [];
  const u16 = (v: number): void => void bytes.push(v & 255, (v >> 8) & 255);
  const u32 = (v: number): void => void bytes.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  const id = (s: string): void => void bytes.push(...[...s].map((c) => c.charCodeAt(0)));
  id(opts.riff ?? 'RIFF'); u32(0); id('WAVE');
  for (const [name, body] of opts.before ?? []) {
    id(name); u32(body.length); bytes.push(...body);
    if (body.length % 2) bytes.push(0);
  }
  id('fmt '); u32(16); u16(format); u16(channels); u32(rate); u32(rate * channels * (bits / 8)); u16(channels * (bits / 8)); u16(bits);
  id('data'); u32(opts.dataSize ?? ints.length * 2);
  for (const v of ints) u16(v < 0 ? v + 65536 : v);
  return Uint8Array.from(bytes);
}

describe('WAV decoding', () => {
  it('reads 16-bit PCM mono samples as s / 32768', () => {
    const audio = decodeWav(handWav({}));
    expect(audio.sampleRate).toBe(16000);
    expect(Array.from(audio.samples)).toEqual([0, 1000 / 32768, -1000 / 32768, 32767 / 32768, -1]);
  });

  it('skips other chunks (odd sizes padded) and accepts the streaming size placeholder', () => {
    const audio = decodeWav(handWav({ before: [['LIST', [1, 2, 3]], ['fact', [0, 0, 0, 0]]], rate: 22050 }));
    expect(audio.sampleRate).toBe(22050);
    expect(audio.samples.length).toBe(5);
    // espeak-ng --stdout leaves 0x7ffffff0 as the data size: the data runs to the end.
    expect(decodeWav(handWav({ dataSize: 0x7ffffff0 })).samples.length).toBe(5);
  });

  it('rejects what it cannot read, naming the file and the reason', () => {
    const src = 'clip.wav';
    expect(() => decodeWav(handWav({ riff: 'RIFX' }), src)).toThrow("decodeWav: clip.wav: not a WAV file: expected 'RIFF' at byte 0, got 'RIFX'");
    expect(() => decodeWav(handWav({ channels: 2, ints: [1, 2, 3, 4] }), src)).toThrow('decodeWav: clip.wav: expected mono, got 2 channels');
    expect(() => decodeWav(handWav({ bits: 8, ints: [] }), src)).toThrow('unsupported sample size 8 bits: expected 16-bit PCM');
    expect(() => decodeWav(handWav({ format: 3, bits: 32, ints: [] }), src)).toThrow('unsupported format 3 (IEEE float): expected 16-bit PCM (format 1)');
    expect(() => decodeWav(handWav({ dataSize: 400 }), src)).toThrow("truncated: the 'data' chunk declares 400 bytes, the file holds 10");
    expect(() => decodeWav(Uint8Array.from([82, 73, 70, 70]), src)).toThrow('too short for a WAV file (4 bytes');
    expect(() => decodeWav(handWav({}).slice(0, 36), src)).toThrow("decodeWav: clip.wav: no 'data' chunk");
    const err = (() => {
      try {
        decodeWav(handWav({ channels: 2 }));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.name).toBe('InputError');
  });
});

describe('WAV encoding', () => {
  it('writes the 44-byte header fields and the samples as rounded int16', () => {
    const bytes = encodeWav({ sampleRate: 16000, samples: Float32Array.from([0, 0.5, -0.5, -1, 1, 2, 0.25]) });
    const view = new DataView(bytes.buffer);
    const text = (at: number): string => String.fromCharCode(...bytes.slice(at, at + 4));
    expect([text(0), text(8), text(12), text(36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data']);
    expect(view.getUint32(4, true)).toBe(36 + 14);
    expect([view.getUint16(20, true), view.getUint16(22, true), view.getUint32(24, true)]).toEqual([1, 1, 16000]);
    expect([view.getUint32(28, true), view.getUint16(32, true), view.getUint16(34, true)]).toEqual([32000, 2, 16]);
    expect(view.getUint32(40, true)).toBe(14);
    const ints = Array.from({ length: 7 }, (_, i) => view.getInt16(44 + 2 * i, true));
    // 1 and 2 clip to 32767; −1 is −32768 exactly
    expect(ints).toEqual([0, 16384, -16384, -32768, 32767, 32767, 8192]);
  });

  it('round trip: every int16 value survives decode → encode', () => {
    const ints = Array.from({ length: 65536 }, (_, i) => i - 32768);
    const original = handWav({ ints });
    const again = encodeWav(decodeWav(original));
    expect(Buffer.from(again.slice(44)).equals(Buffer.from(original.slice(44)))).toBe(true);
  });

  it('files: write atomically, read back, name a missing file', () => {
    const file = path.join(dir, 'tone.wav');
    const samples = Float32Array.from({ length: 800 }, (_, i) => Math.round(16384 * Math.sin(i / 10)) / 32768);
    writeWav(file, { sampleRate: 8000, samples });
    const back = readWav(file);
    expect(back.sampleRate).toBe(8000);
    expect(Array.from(back.samples)).toEqual(Array.from(samples));
    expect(() => readWav(path.join(dir, 'nope.wav'))).toThrow(`readWav: WAV file ${path.join(dir, 'nope.wav')} does not exist`);
    expect(() => encodeWav({ sampleRate: 0, samples })).toThrow('encodeWav: expected a positive integer sample rate, got 0');
  });
});

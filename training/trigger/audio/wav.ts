/**
 * 16-bit PCM mono WAV files (RIFF), the format espeak-ng writes and the trigger-word clips use.
 *
 * Layout: "RIFF" <size> "WAVE", then chunks <4-byte id> <32-bit little-endian size> <data> (padded
 * to an even size). "fmt " gives the format (1 = PCM, or 0xFFFE = WAVE_FORMAT_EXTENSIBLE with a
 * PCM sub-format), channels, sample rate and bits per sample; "data" holds the samples as signed
 * 16-bit little-endian integers. Other chunks (LIST, fact, …) are skipped.
 *
 * Samples are floats in [−1, 1): s / 32768 on reading; round(x·32768) clamped to [−32768, 32767]
 * on writing, so reading and writing back reproduces the integers exactly.
 *
 * A data size of 0 or ≥ 0x7FFFF000 is the placeholder streaming writers (espeak-ng --stdout)
 * leave when they cannot seek back: the data then runs to the end of the file. Any other size
 * larger than what the file holds is an error (a truncated file).
 */
import { fs } from '../../io/node-builtins.js';
import { writeFileAtomic } from '../../io/files.js';
import { InputError } from '../../core/errors.js';

export interface WavAudio {
  sampleRate: number;
  /** Mono samples in [−1, 1). */
  samples: Float32Array;
}

/** A malformed or unsupported WAV file (an InputError: the CLI exits with 2). */
function wavError(source: string, message: string): Error {
  return new InputError(`decodeWav: ${source}: ${message}`);
}

function fourCC(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

const FORMAT_NAMES: Record<number, string> = { 1: 'PCM', 3: 'IEEE float', 6: 'A-law', 7: 'µ-law', 65534: 'extensible' };

/** Decode a WAV file's bytes; `source` names it in errors. */
export function decodeWav(bytes: Uint8Array, source = 'WAV data'): WavAudio {
  if (bytes.length < 12) throw wavError(source, `too short for a WAV file (${bytes.length} bytes, the header alone is 44)`);
  if (fourCC(bytes, 0) !== 'RIFF') throw wavError(source, `not a WAV file: expected 'RIFF' at byte 0, got '${printable(fourCC(bytes, 0))}'`);
  if (fourCC(bytes, 8) !== 'WAVE') throw wavError(source, `not a WAV file: expected 'WAVE' at byte 8, got '${printable(fourCC(bytes, 8))}'`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { sampleRate: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourCC(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw wavError(source, `the 'fmt ' chunk is ${size} bytes, expected at least 16`);
      format = checkFormat(source, view, body, size);
    } else if (id === 'data') {
      if (!format) throw wavError(source, `the 'data' chunk comes before any 'fmt ' chunk`);
      const available = bytes.length - body;
      let length = size;
      if (size === 0 || size >= 0x7ffff000) length = available; // streaming placeholder
      else if (size > available) throw wavError(source, `truncated: the 'data' chunk declares ${size} bytes, the file holds ${available}`);
      const count = Math.floor(length / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + 2 * i, true) / 32768;
      return { sampleRate: format.sampleRate, samples };
    }
    at = body + size + (size % 2); // chunks are padded to an even size
  }
  throw wavError(source, format ? `no 'data' chunk` : `no 'fmt ' chunk`);
}

function checkFormat(source: string, view: DataView, at: number, size: number): { sampleRate: number } {
  let formatTag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const bits = view.getUint16(at + 14, true);
  if (formatTag === 0xfffe && size >= 40) formatTag = view.getUint16(at + 24, true); // the sub-format GUID starts with the tag
  if (formatTag !== 1) {
    throw wavError(source, `unsupported format ${formatTag} (${FORMAT_NAMES[formatTag] ?? 'unknown'}): expected 16-bit PCM (format 1)`);
  }
  if (bits !== 16) throw wavError(source, `unsupported sample size ${bits} bits: expected 16-bit PCM`);
  if (channels !== 1) throw wavError(source, `expected mono, got ${channels} channels`);
  if (!(sampleRate > 0)) throw wavError(source, `expected a positive sample rate, got ${sampleRate}`);
  return { sampleRate };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** Encode mono samples as a 16-bit PCM WAV file (44-byte header + data). */
export function encodeWav(audio: WavAudio): Uint8Array {
  const { sampleRate, samples } = audio;
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new Error(`encodeWav: expected a positive integer sample rate, got ${sampleRate}`);
  }
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const writeId = (at: number, id: string): void => {
    for (let i = 0; i < 4; i++) bytes[at + i] = id.charCodeAt(i);
  };
  writeId(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  writeId(8, 'WAVE');
  writeId(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  writeId(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    if (Number.isNaN(x)) throw new Error(`encodeWav: sample ${i} is NaN`);
    view.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true);
  }
  return bytes;
}

/** Read a WAV file; errors name the file. */
export function readWav(path: string): WavAudio {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `could not be read (${(err as Error).message})`;
    throw new InputError(`readWav: WAV file ${path} ${what}`, { code, cause: err });
  }
  return decodeWav(bytes, path);
}

/** Write a 16-bit PCM mono WAV file atomically. */
export function writeWav(path: string, audio: WavAudio): void {
  writeFileAtomic(path, encodeWav(audio));
}

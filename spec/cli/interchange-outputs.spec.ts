/**
 * `export` and `import` check their outputs with planOutputs (issue 12) before reading anything:
 * no output may be an input (also through a hard link), a file's folder must exist, and
 * `export --format pytorch` writes a folder, so a file in its place is refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../cli/commands/export.js';
import { importCommand } from '../../cli/commands/import.js';
import { InputError } from '../../training/core/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-interchange-out-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

async function refusal(run: () => number | Promise<number>): Promise<string> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('export and import outputs', () => {
  // Not a model at all: a refusal that comes before reading it proves the check runs first.
  fs.writeFileSync(at('not-a-model.json'), 'garbage');
  fs.writeFileSync(at('weights.safetensors'), 'garbage');
  fs.linkSync(at('weights.safetensors'), at('hard-link.json'));

  it('export: the model as --out, a missing folder, a file where the pytorch folder goes', async () => {
    expect(await refusal(() => exportCommand.run(['--model', at('not-a-model.json'), '--format', 'onnx', '--out', at('not-a-model.json')])))
      .toMatch(/^export: --out .*not-a-model\.json is the same file as --model .*not-a-model\.json: refusing to overwrite an input$/);
    expect(await refusal(() => exportCommand.run(['--model', at('not-a-model.json'), '--format', 'safetensors', '--out', at('nodir/m.safetensors')])))
      .toMatch(/^export: --out .*nodir\/m\.safetensors: folder .*nodir does not exist$/);
    fs.writeFileSync(at('torch'), 'a file');
    expect(await refusal(() => exportCommand.run(['--model', at('not-a-model.json'), '--format', 'pytorch', '--out', at('torch')])))
      .toMatch(/^export: --out .*torch exists and is not a folder \(a file\)$/);
    expect(fs.readFileSync(at('torch'), 'utf8')).toBe('a file');
  });

  it('import: --out the input itself or a hard link to it', async () => {
    expect(await refusal(() => importCommand.run([at('weights.safetensors'), '--out', at('hard-link.json')])))
      .toMatch(/^import: --out .*hard-link\.json is the same file as FILE .*weights\.safetensors: refusing to overwrite an input$/);
    expect(await refusal(() => importCommand.run([at('weights.safetensors'), '--config', at('not-a-model.json'), '--out', at('not-a-model.json')])))
      .toMatch(/is the same file as --config/);
    expect(fs.readFileSync(at('weights.safetensors'), 'utf8')).toBe('garbage');
  });
});

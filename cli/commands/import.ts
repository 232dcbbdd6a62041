/**
 * `seqgrad import FILE.safetensors [--config config.json] --out M`: tensors under PyTorch's names
 * (written by `seqgrad export` or by PyTorch) back into a seqgrad model file. The config comes
 * from the file's `__metadata__`, or from --config for a state_dict saved elsewhere. Thin: the
 * library reads and checks (training/io/sequence-net.ts); interchange-models.ts dispatches.
 */
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { readModelSafetensors } from '../../training/io/sequence-net.js';
import { planOutputs } from '../../training/io/outputs.js';
import { importModel } from './interchange-models.js';

const spec: Record<string, FlagSpec> = {
  config: { type: 'string', description: 'JSON { model, net?, app } when the file carries no seqgrad config (a PyTorch state_dict)' },
  out: { type: 'string', description: 'the seqgrad model file to write' },
  help: { type: 'boolean', description: '' },
};

export const importCommand: Command = {
  name: 'import',
  summary: 'read a safetensors file (from seqgrad export or PyTorch) into a seqgrad model file',
  run(argv) {
    const { flags, positionals } = parseArgs('import', argv, spec);
    if (flags.help) {
      console.log(helpText('seqgrad import FILE.safetensors [--config config.json] --out model.json', this.summary, spec));
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`import: expected one FILE.safetensors, got ${positionals.length} (see 'seqgrad import --help')`);
    const out = flags.out as string | undefined;
    if (!out) throw new UsageError("import: expected --out model.json (see 'seqgrad import --help')");
    const file = positionals[0], config = flags.config as string | undefined;
    planOutputs({ command: 'import', inputs: { FILE: file, '--config': config }, outputs: { '--out': out } });
    const { tensors, document, source } = readModelSafetensors(file, config);
    const kind = importModel(tensors, document, source, out);
    console.log(`wrote ${out}: ${kind} from ${file}`);
    return 0;
  },
};

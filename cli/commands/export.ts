/**
 * `seqgrad export --model M --format safetensors|pytorch|onnx --out PATH`: a trained model in the
 * formats the field exchanges. Thin: cli/commands/interchange-models.ts loads the model; the
 * library writes safetensors (training/io/sequence-net.ts), the PyTorch folder
 * (training/io/pytorch-export.ts) and ONNX (training/io/onnx.ts).
 */
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { sequenceNetToOnnx } from '../../training/io/onnx.js';
import { writePytorchFolder } from '../../training/io/pytorch-export.js';
import { planOutputs } from '../../training/io/outputs.js';
import { loadModelFile } from './interchange-models.js';

const FORMATS = ['safetensors', 'pytorch', 'onnx'];

const spec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a seqgrad model file (language model, tagger, lstm sentiment model; seq2seq: safetensors only)' },
  format: { type: 'string', description: 'safetensors: one file; pytorch: a folder (model.safetensors, model.py, train_ddp.py); onnx: one .onnx file', choices: FORMATS },
  out: { type: 'string', description: 'the file (or folder for pytorch) to write' },
  help: { type: 'boolean', description: '' },
};

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a model as safetensors (PyTorch names), a PyTorch folder (model.py, train_ddp.py) or ONNX',
  run(argv) {
    const { flags, positionals } = parseArgs('export', argv, spec);
    if (flags.help) {
      console.log(helpText('seqgrad export --model model.json --format safetensors|pytorch|onnx --out PATH', this.summary, spec));
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`export: unexpected argument '${positionals[0]}' (see 'seqgrad export --help')`);
    const model = flags.model as string | undefined, format = flags.format as string | undefined, out = flags.out as string | undefined;
    if (!model || !format || !out) throw new UsageError("export: expected --model FILE --format safetensors|pytorch|onnx --out PATH (see 'seqgrad export --help')");
    // --format pytorch writes a folder of files; the others one file.
    planOutputs({ command: 'export', inputs: { '--model': model }, ...(format === 'pytorch' ? { outputs: {}, folders: { '--out': out } } : { outputs: { '--out': out } }) });
    const loaded = loadModelFile(model);
    if (format === 'safetensors') {
      loaded.saveSafetensors(out);
    } else {
      const { exportable } = loaded;
      if (!exportable) throw new UsageError(`export: --format ${format} takes a language model, tagger or sentiment model; a ${loaded.kind} model exports as --format safetensors`);
      if (format === 'pytorch') console.log(`${out}: ${writePytorchFolder(out, exportable).files.join(', ')}`);
      else writeFileAtomic(out, sequenceNetToOnnx(exportable));
    }
    console.log(`wrote ${out}: ${loaded.kind}, ${loaded.summary}`);
    return 0;
  },
};

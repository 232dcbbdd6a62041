/**
 * `seqgrad sample`: novel sequences from a trained language model (recurrent or Transformer) — sampled (temperature, top-k,
 * never <UNK>), greedy, or the n best of a beam search. Thin: training/lm-use.ts.
 */
import { parseArgs, printHelp, UsageError, type FlagSpec } from '../args.js';
import { BACKEND_FLAG, selectBackend } from '../backend.js';
import type { Command } from '../command.js';
import { MAX_BEAM_WIDTH } from '../../training/decode/beam.js';
import { loadAnyLanguageModel } from '../../training/lm/model-file.js';
import { beamText, greedyText, sampleTextStream, type GeneratedText } from '../../training/lm/use.js';

const spec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'model file written by seqgrad train (or its --checkpoint)' },
  n: { type: 'int', description: 'how many sequences (with --beam: the n best)', min: 1, default: 10 },
  temperature: { type: 'number', description: 'τ: < 1 sharper, > 1 flatter, 0 greedy', default: 1 },
  'top-k': { type: 'int', description: 'draw among the k most probable tokens only', min: 1 },
  beam: { type: 'int', description: 'beam search of this width instead of sampling', min: 1 },
  'length-penalty': { type: 'string', description: 'beam: length normalisation', choices: ['none', 'notes', 'gnmt'], default: 'notes' },
  alpha: { type: 'number', description: 'beam: exponent α of the length normalisation (default notes 0.7, gnmt 0.6)' },
  greedy: { type: 'boolean', description: 'one sequence, the most probable token at every step' },
  'max-length': { type: 'int', description: 'longest sequence in tokens (default 50 chars / 30 words)', min: 1 },
  prefix: { type: 'string', description: 'text to continue' },
  multiline: { type: 'boolean', description: 'sampling: go on past <EOS> (a line break) up to --max-length tokens' },
  'allow-unk': { type: 'boolean', description: 'let <UNK> be emitted (default: never)' },
  seed: { type: 'int', description: 'seed of the draws', default: 1 },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', description: 'print the sequences as JSON' },
  help: { type: 'boolean', description: '' },
};

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'sample novel sequences from a language model (temperature, top-k, greedy, beam)',
  async run(argv) {
    const { flags, positionals } = parseArgs('sample', argv, spec);
    if (flags.help) return printHelp('seqgrad sample --model model.json [--n 10] [--temperature 0.8] [--top-k K] [--beam 5] [--greedy] [--prefix TEXT] [--seed 1] [--json]', this.summary, spec);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see 'seqgrad sample --help')`);
    if (!flags.model) throw new UsageError("expected --model FILE (see 'seqgrad sample --help')");
    const n = flags.n as number;
    const temperature = flags.temperature as number;
    if (!(temperature >= 0)) throw new UsageError(`--temperature expects a number ≥ 0, got ${temperature}`);
    const backend = await selectBackend(flags.backend as string);
    const beam = flags.beam as number | undefined;
    if (beam !== undefined && beam > MAX_BEAM_WIDTH) throw new UsageError(`--beam expects a width ≤ ${MAX_BEAM_WIDTH}, got ${beam}`);
    const model = loadAnyLanguageModel(flags.model as string); // recurrent or Transformer
    const common = {
      maxLength: flags['max-length'] as number | undefined,
      forbidUnk: flags['allow-unk'] !== true,
      prefix: flags.prefix as string | undefined,
    };
    let mode: string;
    let out: Iterable<GeneratedText & { score?: number }>;
    if (flags.beam !== undefined) {
      mode = `beam ${String(flags.beam)}`;
      const kind = flags['length-penalty'] as 'none' | 'notes' | 'gnmt';
      out = beamText(model, { ...common, beamWidth: flags.beam as number, nBest: n, lengthPenalty: { kind, alpha: flags.alpha as number | undefined } });
    } else if (flags.greedy || temperature === 0) {
      mode = 'greedy';
      out = [greedyText(model, common)];
    } else {
      mode = `sampled, temperature ${temperature}${flags['top-k'] ? `, top-${String(flags['top-k'])}` : ''}, seed ${String(flags.seed)}`;
      out = sampleTextStream(model, { ...common, count: n, temperature, topK: flags['top-k'] as number | undefined, seed: flags.seed as number, multiline: flags.multiline === true });
    }
    const prefix = (flags.prefix as string | undefined) ?? '';
    // Printed as they are made: `--n 1000000000` streams instead of holding every sequence.
    if (flags.json) {
      console.log(`{\n  "mode": ${JSON.stringify(mode)},\n  "prefix": ${JSON.stringify(prefix)},\n  "backend": ${JSON.stringify(backend)},\n  "sequences": [`);
      // Streamed: each sequence is written as it comes; its separator goes before the next one.
      let first = true;
      for (const s of out) {
        process.stdout.write(`${first ? '' : ',\n'}    ${JSON.stringify({ text: s.text, logProb: s.logProb, score: s.score, finished: s.finished })}`);
        first = false;
      }
      console.log(`${first ? '' : '\n'}  ]\n}`);
    } else {
      console.log(`# ${mode}`);
      for (const s of out) {
        const score = s.score !== undefined ? `  (score ${s.score.toFixed(3)}, log P ${s.logProb.toFixed(3)})` : '';
        console.log(`${prefix}${s.text}${s.finished || flags.multiline ? '' : ' …'}${score}`);
        if (flags.multiline) console.log('');
      }
    }
    return 0;
  },
};

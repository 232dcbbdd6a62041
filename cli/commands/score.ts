/**
 * `seqgrad score`: the probability of sentences under a language model by the chain rule,
 * P(y⟨1⟩…y⟨T⟩) = Π_t P(y⟨t⟩ | y⟨<t⟩), in total and per token. Thin: training/lm-use.ts.
 */
import { parseArgs, printHelp, UsageError, type FlagSpec } from '../args.js';
import { BACKEND_FLAG, selectBackend } from '../backend.js';
import type { Command } from '../command.js';
import { loadAnyLanguageModel } from '../../training/lm/model-file.js';
import { sentenceLogProb } from '../../training/lm/use.js';

const spec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'model file written by seqgrad train (or its --checkpoint)' },
  tokens: { type: 'boolean', description: 'also print log P of every token' },
  eos: { type: 'boolean', description: 'score the final <EOS> (--no-eos: score the text as a prefix)', default: true },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', description: 'print the scores as JSON (each names the backend used)' },
  help: { type: 'boolean', description: '' },
};

export const scoreCommand: Command = {
  name: 'score',
  summary: 'log-probability of sentences under a language model (chain rule, total and per token)',
  async run(argv) {
    const { flags, positionals } = parseArgs('score', argv, spec);
    if (flags.help) return printHelp('seqgrad score --model model.json [--tokens] [--json] "text" ["text" …]', this.summary, spec);
    if (!flags.model) throw new UsageError("expected --model FILE (see 'seqgrad score --help')");
    if (positionals.length === 0) throw new UsageError('expected at least one text to score, e.g. seqgrad score --model model.json "The apple and pear salad"');
    const backend = await selectBackend(flags.backend as string);
    const model = loadAnyLanguageModel(flags.model as string); // recurrent or Transformer
    const scores = positionals.map((text) => {
      if (text.trim().length === 0 && flags.eos !== true) throw new UsageError('expected a non-empty text');
      return { text, ...sentenceLogProb(model, text, { endWithEos: flags.eos === true }) };
    });
    if (flags.json) {
      console.log(JSON.stringify(scores.map((s) => ({ ...s, backend })), null, 2));
      return 0;
    }
    for (const s of scores) {
      console.log(
        `log P = ${s.logProb.toFixed(4)}  (${s.bits.toFixed(2)} bits, ${s.tokens.length} tokens, ${s.logProbPerToken.toFixed(4)} per token, perplexity ${s.perplexity.toFixed(3)}` +
        `${s.unknownTokens > 0 ? `, ${s.unknownTokens} unknown → <UNK>` : ''})  ${JSON.stringify(s.text)}`,
      );
      if (flags.tokens) {
        s.tokens.forEach((t, i) => console.log(`    ${JSON.stringify(t).padEnd(16)} ${s.tokenLogProbs[i].toFixed(4)}`));
      }
    }
    return 0;
  },
};

/**
 * Trains the dates model the playground ships (playground/dates-model.json): human-readable dates
 * in many formats → ISO yyyy-mm-dd (training/seq2seq/dates.ts), character level, a bidirectional
 * LSTM encoder with Bahdanau attention — the notes' date-translation exercise. Small on purpose
 * (the file stays a few hundred KB). Seeded: the same machine gives the same file; the page only
 * reads it, so the file is committed and this script is how it was made.
 *
 *   npx tsx scripts/train-playground-dates.ts [--minutes 6] [--out playground/dates-model.json]
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setBackend } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { initWasmBackend } from '../engine/wasm/index.js';
import { generateDatePairs } from '../training/seq2seq/dates.js';
import { createSeq2Seq, seq2seqParameterCount } from '../training/seq2seq/model.js';
import { saveSeq2Seq } from '../training/seq2seq/model-file.js';
import { Seq2SeqTrainer, evaluateSeq2Seq, prepareSeq2SeqData } from '../training/seq2seq/train.js';

const SEED = 7;
const PAIRS = 30_000;

function flag(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

async function main(): Promise<void> {
  const minutes = Number(flag('minutes', '6'));
  const out = resolve(flag('out', 'playground/dates-model.json'));
  if (!(minutes > 0)) throw new Error(`train-playground-dates: expected --minutes=<number > 0>, got ${minutes}`);
  setBackend((await initWasmBackend()).name);

  const pairs = generateDatePairs(PAIRS, new Rng(SEED));
  const data = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0.05, seed: SEED });
  const model = createSeq2Seq({
    level: 'char', cell: 'lstm', embeddingDim: 16, encoderHidden: 32, bidirectional: true, decoderHidden: 64,
    attention: 'bahdanau', attentionSize: 32, seed: SEED, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab,
  });
  console.log(`dates model: ${seq2seqParameterCount(model)} parameters, ${data.train.length} training pairs`);
  const trainer = new Seq2SeqTrainer(model, data, { batch: 64, optimizer: { kind: 'adam', lr: 0.005 }, clipNorm: 5, seed: SEED });
  const result = trainer.run({
    epochs: 30, timeLimitSeconds: minutes * 60, evalEvery: 200, maxEvalExamples: 200,
    onEvaluation: (e) => console.log(`step ${e.step}: validation loss ${e.loss.toFixed(4)}, greedy exact match ${(100 * e.exactMatch).toFixed(1)}%`),
  });
  const evaluation = evaluateSeq2Seq(model, data.validationPairs, { beamWidth: 3 });
  console.log(`${result.steps} steps in ${result.seconds.toFixed(0)} s; validation exact match (beam 3): ${(100 * evaluation.exactMatch).toFixed(1)}% of ${evaluation.examples}`);
  saveSeq2Seq(out, model, {
    script: 'scripts/train-playground-dates.ts', pairs: PAIRS, seed: SEED, steps: result.steps,
    validationExactMatch: evaluation.exactMatch, validationExamples: evaluation.examples,
  });
  console.log(`wrote ${out} (${(statSync(out).size / 1024).toFixed(0)} KB)`);
}

main().catch((err: unknown) => {
  console.error(`train-playground-dates: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

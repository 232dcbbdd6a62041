/**
 * `seqgrad seq2seq … --arch transformer`: the Transformer encoder-decoder (training/seq2seq/transformer-model.ts)
 * behind the seq2seq sub-commands. `train` builds it from the flags (--hidden = d_model, --layers = encoder
 * and decoder layers, --heads, --ff, --dropout, --positions, --norm-first, --ffn-activation); `translate`,
 * `eval` and `attend` recognise its model file (kind "seqgrad.transformer-seq2seq") and come here;
 * `attend` draws one heatmap per decoder layer and head of the cross-attention; `train --checkpoint` and
 * `--resume` as the RNN's (`seq2seq train --resume` hands a Transformer checkpoint to resumeTransformerSeq2Seq).
 * Thin: flags in, library out. No search/model error analysis for this architecture yet.
 */
import { DROPOUT_FLAG } from '../rnn-flags.js';
import * as fs from 'node:fs';
import { UsageError, checkResumeConflicts, type FlagSpec, type FlagValues } from '../args.js';
import { interrupted, stopFlag } from '../interrupt.js';
import { threadsFromFlags } from '../threads.js';
import { createProgress, formatDuration, type Progress } from '../progress.js';
import type { FeedForwardActivation } from '../../layers/transformer/feedforward.js';
import type { PositionKind } from '../../layers/transformer/positions.js';
import type { LengthPenalty } from '../../training/decode/beam.js';
import type { OptimizerKind } from '../../training/core/optimizers.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { readJsonInput } from '../../training/io/model-file.js';
import { heatmapSvg } from '../../training/plot/charts.js';
import type { SeqPair } from '../../training/seq2seq/tasks.js';
import { scoresByLength, type PreparedSeq2SeqData, type Seq2SeqTrainResult } from '../../training/seq2seq/train.js';
import {
  TransformerSeq2SeqDecoder, createTransformerSeq2Seq, transformerAttentionMaps, transformerSeq2SeqFromJSON,
  transformerSeq2SeqParameterCount, transformerSourceIds, transformerTranslateIds, type TransformerSeq2SeqModel,
} from '../../training/seq2seq/transformer-model.js';
import { saveTransformerSeq2Seq } from '../../training/seq2seq/model-file.js';
import {
  TransformerSeq2SeqTrainer, evaluateTransformerSeq2Seq, resumeTransformerSeq2SeqRun, type TransformerSeq2SeqCheckpointJSON,
} from '../../training/seq2seq/transformer-train.js';
import { tokenizeText, type TokenLevel } from '../../training/text/vocab.js';

export const transformerSeq2SeqFlags: Record<string, FlagSpec> = {
  arch: { type: 'string', description: 'recurrent encoder-decoder or Transformer (--hidden = d_model, --layers = encoder and decoder layers)', choices: ['rnn', 'transformer'], default: 'rnn' },
  heads: { type: 'int', description: 'transformer: attention heads (must divide --hidden)', default: 4 },
  ff: { type: 'int', description: 'transformer: feed-forward width F (default 4 × --hidden)' },
  dropout: DROPOUT_FLAG,
  positions: { type: 'string', description: 'transformer: positional encoding', choices: ['sinusoidal', 'learned'], default: 'sinusoidal' },
  'norm-first': { type: 'boolean', description: 'transformer: pre-norm layers (default post-norm, as the paper)' },
  'ffn-activation': { type: 'string', description: 'transformer: feed-forward activation', choices: ['relu', 'gelu'], default: 'relu' },
};

/** The Transformer model in a seq2seq model file, or null when the file holds another kind (read it as usual). */
export function readTransformerSeq2Seq(path: string): TransformerSeq2SeqModel | null {
  const json = readJsonInput<{ kind?: unknown }>(path, 'model file');
  if (json === null || typeof json !== 'object' || json.kind !== 'seqgrad.transformer-seq2seq') return null;
  return transformerSeq2SeqFromJSON(json, `model file ${path}`);
}

type CurveSvg = (title: string, result: Seq2SeqTrainResult) => string;

/** Build and train from the flags; returns the exit code. */
export function trainTransformerSeq2Seq(
  c: string, flags: FlagValues, data: PreparedSeq2SeqData, dataInfo: Record<string, unknown>, backend: string, curveSvg: CurveSvg,
): number {
  const dModel = flags.hidden as number, heads = flags.heads as number, dropout = (flags.dropout as number | undefined) ?? 0.1;
  if (!Number.isInteger(heads) || heads < 1 || dModel % heads !== 0) throw new UsageError(`${c}: --heads expects a positive divisor of --hidden ${dModel}, got ${heads}`);
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`${c}: --dropout expects a number in [0, 1), got ${dropout}`);
  const longest = Math.max(data.maxSourceLength, data.maxTargetLength + 1);
  const model = createTransformerSeq2Seq({
    sourceLevel: dataInfo.sourceLevel as TokenLevel, targetLevel: dataInfo.targetLevel as TokenLevel, lowercase: dataInfo.lowercase as boolean, dModel, numHeads: heads,
    encoderLayers: flags.layers as number, decoderLayers: flags.layers as number, dimFeedforward: (flags.ff as number | undefined) ?? 4 * dModel,
    dropout, activation: flags['ffn-activation'] as FeedForwardActivation, normFirst: flags['norm-first'] === true,
    positions: flags.positions as PositionKind, maxLength: 2 * longest + 12, seed: flags.seed as number,
    sourceVocab: data.sourceVocab, targetVocab: data.targetVocab,
  });
  const clip = flags.clip as number;
  const trainer = new TransformerSeq2SeqTrainer(model, data, {
    batch: flags.batch as number, optimizer: { kind: flags.optimizer as OptimizerKind, lr: flags.lr as number },
    clipNorm: clip > 0 ? clip : null, clipMode: flags['clip-mode'] as 'norm' | 'value', seed: flags.seed as number,
  });
  trainer.dataInfo = { ...dataInfo };
  return runTransformerSeq2Seq(c, flags, trainer, backend, curveSvg);
}

/**
 * Continue a Transformer checkpoint (read by `seq2seq train --resume`) on its pairs: model and
 * optimisation settings come from the checkpoint, a flag given with another value is refused.
 */
export function resumeTransformerSeq2Seq(
  c: string, argv: string[], flags: FlagValues, checkpoint: TransformerSeq2SeqCheckpointJSON, pairs: SeqPair[], backend: string, curveSvg: CurveSvg,
): number {
  const m = checkpoint.model.config, t = checkpoint.trainer.config, info = checkpoint.data;
  checkResumeConflicts(c, argv, flags, {
    arch: 'transformer', 'source-level': m.sourceLevel, 'target-level': m.targetLevel, lowercase: m.lowercase,
    hidden: m.dModel, heads: m.numHeads, layers: m.encoderLayers, ff: m.dimFeedforward, dropout: m.dropout, positions: m.positions,
    'norm-first': m.normFirst, 'ffn-activation': m.activation,
    batch: t.batch, lr: t.optimizer.lr, optimizer: t.optimizer.kind, clip: t.clipNorm ?? 0, 'clip-mode': t.clipMode ?? 'norm', seed: info.seed, 'val-fraction': info.valFraction,
  });
  const trainer = resumeTransformerSeq2SeqRun(checkpoint, pairs, `checkpoint ${String(flags.resume)}`);
  return runTransformerSeq2Seq(c, flags, trainer, backend, curveSvg);
}

/** Run (writing checkpoints to --checkpoint), save, report; returns the exit code. */
function runTransformerSeq2Seq(c: string, flags: FlagValues, trainer: TransformerSeq2SeqTrainer, backend: string, curveSvg: CurveSvg): number {
  const model = trainer.model, data = trainer.data;
  const { dModel, numHeads: heads } = model.config;
  let progress: Progress | null = null;
  let lastVal = '';
  const result = trainer.run({
    signal: stopFlag,
    epochs: (flags.epochs as number | undefined) ?? (flags.steps === undefined ? 10 : undefined),
    maxSteps: flags.steps as number | undefined,
    timeLimitSeconds: flags['time-limit'] as number | undefined,
    evalEvery: flags['eval-every'] as number | undefined,
    maxEvalExamples: flags['max-eval'] as number,
    checkpointPath: flags.checkpoint as string | undefined,
    threads: threadsFromFlags(flags, backend),
    onProgress: (p) => {
      progress ??= createProgress({ label: 'seq2seq transformer', total: p.totalSteps, unit: 'steps' });
      progress.update(p.step, { loss: p.smoothLoss.toFixed(3), 'ex/s': Math.round(p.examplesPerSecond), epoch: p.epoch.toFixed(2), ...(lastVal ? { 'val exact': lastVal } : {}) });
    },
    onEvaluation: (e) => { lastVal = Number.isFinite(e.exactMatch) ? `${(100 * e.exactMatch).toFixed(1)}%` : 'n/a'; },
  });
  (progress as Progress | null)?.finish(result.stopReason);
  const e = result.lastEvaluation;
  const summary = {
    arch: 'transformer', config: model.config, parameters: transformerSeq2SeqParameterCount(model),
    vocabulary: { source: model.sourceVocab.size, target: model.targetVocab.size },
    data: { ...trainer.dataInfo, train: data.train.length, validation: data.validation.length }, train: trainer.config, backend, threads: result.threads,
    steps: result.steps, epochs: Number(result.epochs.toFixed(3)), stopReason: result.stopReason,
    seconds: Number(result.seconds.toFixed(2)), trainSeconds: Number(result.trainSeconds.toFixed(2)),
    examplesPerSecond: Math.round(result.examplesPerSecond), trainLoss: result.finalLoss,
    validation: e ? { loss: e.loss, exactMatch: e.exactMatch, bleu: e.bleu, decoded: e.decoded, step: e.step } : null,
  };
  saveTransformerSeq2Seq(flags.out as string, model, summary);
  if (flags.plot) writeFileAtomic(flags.plot as string, curveSvg(`seq2seq Transformer (d = ${dModel}, ${model.config.encoderLayers} + ${model.config.decoderLayers} layers, ${heads} heads)`, result));
  if (flags.json) {
    console.log(JSON.stringify({ ...summary, out: flags.out, evaluations: result.evaluations }, null, 2));
    return interrupted(c, result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
  }
  console.log(`${result.steps} steps (${result.epochs.toFixed(2)} epochs) in ${formatDuration(result.seconds)} (${formatDuration(result.trainSeconds)} training), ${Math.round(result.examplesPerSecond)} examples/s, stopped by ${result.stopReason}; ${summary.parameters} parameters`);
  console.log(`train loss ${result.finalLoss.toFixed(4)} nats/token`);
  if (e) console.log(`validation: loss ${e.loss.toFixed(4)} nats/token, greedy exact match ${(100 * e.exactMatch).toFixed(1)}%, BLEU ${e.bleu.toFixed(4)} (${e.decoded} pairs decoded)`);
  console.log(`model written to ${String(flags.out)}${flags.plot ? `, curve to ${String(flags.plot)}` : ''}`);
  return interrupted(c, result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
}

interface DecodeFlags { beamWidth: number; lengthPenalty: LengthPenalty; maxLength?: number }

/** `translate`: every non-empty stdin line, as the RNN's translate prints it. */
export function translateWithTransformer(c: string, model: TransformerSeq2SeqModel, opts: DecodeFlags & { nBest: number; json: boolean }): number {
  if (opts.nBest > opts.beamWidth) throw new UsageError(`${c}: --nbest ${opts.nBest} exceeds --beam ${opts.beamWidth} (the beam keeps at most B hypotheses per step)`);
  const decoder = new TransformerSeq2SeqDecoder(model);
  for (const line of fs.readFileSync(0, 'utf8').split(/\r?\n/)) {
    const ids = line.trim() === '' ? [] : transformerSourceIds(model, line);
    if (ids.length === 0) continue;
    const outs = transformerTranslateIds(decoder, ids, opts);
    if (opts.json) {
      console.log(JSON.stringify({ source: line, outputs: outs.map((o) => ({ text: o.text, logProb: o.logProb, score: o.score, finished: o.finished })) }));
    } else if (opts.nBest === 1) {
      console.log(outs[0].text);
    } else {
      console.log(`# ${line}`);
      outs.forEach((o, i) => console.log(`${i + 1}\t${o.text}\t${o.score.toFixed(4)}\t${o.logProb.toFixed(4)}${o.finished ? '' : '\t(cut)'}`));
    }
  }
  return 0;
}

/** `eval`: exact match and BLEU per beam width (and by source length), without the error analysis. */
export function evalWithTransformer(model: TransformerSeq2SeqModel, pairs: SeqPair[], widths: number[], byLength: number | undefined, json: boolean): number {
  const results = widths.map((beam) => {
    const t0 = Date.now();
    const r = evaluateTransformerSeq2Seq(model, pairs, { beamWidth: beam });
    return { beam, seconds: (Date.now() - t0) / 1000, r };
  });
  if (json) {
    console.log(JSON.stringify({
      arch: 'transformer', examples: pairs.length,
      results: results.map(({ beam, seconds, r }) => ({ beam, seconds, exactMatch: r.exactMatch, bleu: r.bleu, byLength: byLength ? scoresByLength(r.items, byLength) : undefined })),
    }, null, 2));
    return 0;
  }
  console.log(`${pairs.length} pairs (Transformer; no search/model error analysis for this architecture)`);
  for (const { beam, seconds, r } of results) {
    console.log(`beam ${beam}${beam === 1 ? ' (greedy)' : ''}: exact match ${(100 * r.exactMatch).toFixed(1)}%, BLEU ${r.bleu.toFixed(4)} (${seconds.toFixed(1)} s)`);
    if (byLength) for (const b of scoresByLength(r.items, byLength)) console.log(`  length ${b.from}–${b.to}: ${b.examples} pairs, BLEU ${b.bleu.toFixed(4)}, exact ${(100 * b.exactMatch).toFixed(1)}%`);
  }
  return 0;
}

/** `attend`: translate one source and draw the cross-attention of every decoder layer and head (one SVG each). */
export function attendWithTransformer(c: string, model: TransformerSeq2SeqModel, source: string, out: string, opts: DecodeFlags & { json: boolean }): number {
  const ids = transformerSourceIds(model, source);
  if (ids.length === 0) throw new UsageError(`${c}: expected a source with at least one token, got ${JSON.stringify(source)}`);
  const decoder = new TransformerSeq2SeqDecoder(model);
  const [best] = transformerTranslateIds(decoder, ids, opts);
  const maps = transformerAttentionMaps(decoder, ids, best.ids);
  const show = (t: string): string => (t === ' ' ? '␣' : t);
  const colLabels = tokenizeText(source, { level: model.config.sourceLevel, lowercase: model.config.lowercase }).map(show);
  const rowLabels = [...model.targetVocab.decode(best.ids).map(show), '<EOS>'];
  const base = out.replace(/\.svg$/, '');
  const files: string[] = [];
  maps.forEach((heads, l) => heads.forEach((values, h) => {
    const file = `${base}-layer${l}-head${h}.svg`;
    writeFileAtomic(file, heatmapSvg({
      title: `cross-attention, decoder layer ${l}, head ${h}: ${source} → ${best.text}`, values, rowLabels, colLabels,
      xLabel: 'source token', yLabel: 'output token', valueLabel: 'attention weight',
    }));
    files.push(file);
  }));
  if (opts.json) {
    console.log(JSON.stringify({ source, output: best.text, rows: rowLabels, columns: colLabels, attention: maps, files }, null, 2));
  } else {
    console.log(`${source} → ${best.text}`);
    console.log(`${files.length} heatmaps (${rowLabels.length} × ${colLabels.length}, one per decoder layer and head) written to ${base}-layer*-head*.svg`);
  }
  return 0;
}

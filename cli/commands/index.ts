/**
 * Every `seqgrad` sub-command, loaded on demand: a command's module (and all it imports) is read
 * only when that command runs, so a short command such as `seqgrad sample` does not parse and
 * evaluate the trainers of every other one (the build splits each command into its own chunk:
 * scripts/build.mjs). `seqgrad --help` loads them all for their summaries.
 */
import type { Command } from '../command.js';

type Loader = () => Promise<Command[]>;

/** Each module's command names (checked against what it exports when loaded), in `seqgrad --help` order. */
const MODULES: [names: readonly string[], load: Loader][] = [
  [['start'], async () => [(await import('./start.js')).startCommand]],
  [['gradcheck'], async () => [(await import('./gradcheck.js')).gradcheckCommand]],
  [['gradflow'], async () => [(await import('./gradflow.js')).gradflowCommand]],
  [['train'], async () => [(await import('./train.js')).trainCommand]],
  [['sample'], async () => [(await import('./sample.js')).sampleCommand]],
  [['score'], async () => [(await import('./score.js')).scoreCommand]],
  [['tree'], async () => [(await import('./tree.js')).treeCommand]],
  [['word2vec'], async () => [(await import('./word2vec.js')).word2vecCommand]],
  [['glove'], async () => [(await import('./glove.js')).gloveCommand]],
  [['nplm'], async () => [(await import('./nplm.js')).nplmCommand]],
  [['analogy', 'similar', 'eval-analogies', 'eval-similarity', 'tsne', 'debias'], async () => (await import('./embeddings.js')).embeddingCommands],
  [['sentiment'], async () => [(await import('./sentiment.js')).sentimentCommand]],
  [['seq2seq'], async () => [(await import('./seq2seq.js')).seq2seqCommand]],
  [['trigger'], async () => [(await import('./trigger.js')).triggerCommand]],
  [['tagger'], async () => [(await import('./tagger.js')).taggerCommand]],
  [['export'], async () => [(await import('./export.js')).exportCommand]],
  [['import'], async () => [(await import('./import.js')).importCommand]],
  [['bench'], async () => [(await import('./bench.js')).benchCommand]],
];

/** Every command name, in the order `seqgrad --help` lists them (known without loading any command). */
export const COMMAND_NAMES: readonly string[] = MODULES.flatMap(([names]) => names);

/** The commands of one module; an index whose names disagree with the module's is a bug, thrown here. */
async function loadModule([names, load]: (typeof MODULES)[number]): Promise<Command[]> {
  const loaded = await load();
  const got = loaded.map((c) => c.name);
  if (got.join(',') !== names.join(',')) throw new Error(`cli/commands/index.ts lists ${names.join(', ')}, the module exports ${got.join(', ')}`);
  return loaded;
}

/** The command `name` (its module loaded now), or null for an unknown name. */
export async function loadCommand(name: string): Promise<Command | null> {
  const entry = MODULES.find(([names]) => names.includes(name));
  return entry ? ((await loadModule(entry)).find((c) => c.name === name) ?? null) : null;
}

/** Every command, loaded, in `seqgrad --help` order. */
export async function loadCommands(): Promise<Command[]> {
  return (await Promise.all(MODULES.map(loadModule))).flat();
}

import type { Command } from '../command.js';
import { gradcheckCommand } from './gradcheck.js';
import { gradflowCommand } from './gradflow.js';
import { startCommand } from './start.js';
import { trainCommand } from './train.js';
import { sampleCommand } from './sample.js';
import { scoreCommand } from './score.js';
import { treeCommand } from './tree.js';
import { embeddingCommands } from './embeddings.js';
import { sentimentCommand } from './sentiment.js';
import { word2vecCommand } from './word2vec.js';
import { gloveCommand } from './glove.js';
import { nplmCommand } from './nplm.js';
import { benchCommand } from './bench.js';
import { seq2seqCommand } from './seq2seq.js';
import { triggerCommand } from './trigger.js';
import { taggerCommand } from './tagger.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';

/** Every `seqgrad` sub-command, in the order `seqgrad --help` lists them. */
export const commands: Command[] = [startCommand, gradcheckCommand, gradflowCommand, trainCommand, sampleCommand, scoreCommand, treeCommand, word2vecCommand, gloveCommand, nplmCommand, ...embeddingCommands, sentimentCommand, seq2seqCommand, triggerCommand, taggerCommand, exportCommand, importCommand, benchCommand];

import type { Command } from '../command.js';
import { gradcheckCommand } from './gradcheck.js';
import { startCommand } from './start.js';

/** Every `seqgrad` sub-command, in the order `seqgrad --help` lists them. */
export const commands: Command[] = [startCommand, gradcheckCommand];

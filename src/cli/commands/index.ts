/** Every CLI sub-command, in the order `imagereward --help` lists them. */
import type { Command } from '../command.js';
import { convertCommand } from './convert.js';
import { infoCommand } from './info.js';
import { inspectCommand } from './inspect.js';
import { preprocessCommand } from './preprocess.js';
import { scoreCommand } from './score.js';
import { tokenizeCommand } from './tokenize.js';

export const COMMANDS: readonly Command[] = [scoreCommand, inspectCommand, tokenizeCommand, preprocessCommand, infoCommand, convertCommand];

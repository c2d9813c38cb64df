/** Every CLI sub-command, in the order `imagereward --help` lists them. */
import type { Command } from '../command.js';
import { convertCommand } from './convert.js';
import { evalCommand } from './eval.js';
import { featuresCommand } from './features.js';
import { infoCommand } from './info.js';
import { inspectCommand } from './inspect.js';
import { preprocessCommand } from './preprocess.js';
import { scoreCommand } from './score.js';
import { scoreDatasetCommand } from './score-dataset.js';
import { mergeCommand } from './merge.js';
import { benchmarkCommand } from './benchmark.js';
import { workerCommand } from './worker.js';
import { tokenizeCommand } from './tokenize.js';
import { trainHeadCommand } from './train-head.js';

export const COMMANDS: readonly Command[] = [scoreCommand, scoreDatasetCommand, mergeCommand, workerCommand, benchmarkCommand, inspectCommand, tokenizeCommand, preprocessCommand, infoCommand, convertCommand, featuresCommand, trainHeadCommand, evalCommand];

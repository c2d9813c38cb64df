/** Every CLI sub-command, in the order `imagereward --help` lists them. */
import type { Command } from '../command.js';
import { convertCommand } from './convert.js';

export const COMMANDS: readonly Command[] = [convertCommand];

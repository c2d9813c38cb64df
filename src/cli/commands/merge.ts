/** `imagereward merge --output OUT FILE...`: joins score-dataset shard outputs into one file in row order. */
import { flagOption, type Command } from '../command.js';
import { InputError } from '../../errors.js';
import { mergeResults } from '../../dataset/merge.js';
import { writeResults } from '../../dataset/output.js';
import { requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward merge --output OUT FILE...',
  '',
  'Joins result files of score-dataset (the OUT.shard-I-of-N files of a sharded run) into OUT, one line per',
  'row in row order. Refuses a set missing a shard or a row, and rows of different inputs; a row held by',
  'two files (the same prompt and image) is written once. OUT is written whole (temp file + rename).',
  '',
  '  --output OUT       merged result file (.jsonl or .parquet)',
  '  --json             print {"output", "files", "rows", "errors", "duplicates"}',
].join('\n');

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'join the shard outputs of score-dataset',
  usage,
  options: { output: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const output = requiredOption(args, 'output', usage);
    const files = args.positionals;
    if (files.length === 0) throw new InputError(`no result files given\n${usage}`);
    const merged = await mergeResults(files);
    await writeResults(output, merged.records, merged.records.some((r) => r.group !== undefined));
    const summary = { output, files: files.length, rows: merged.records.length, errors: merged.errors, duplicates: merged.duplicates };
    io.out(flagOption(args, 'json') ? JSON.stringify(summary) : `${summary.rows} rows from ${files.length} files in ${output} (${summary.errors} errors)`);
    return 0;
  },
};

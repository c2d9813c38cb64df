/** `imagereward tokenize TEXT...` / `--input FILE.jsonl`: the upstream BERT tokenization, one JSON line per text. */
import { InputError } from '../../errors.js';
import { BERT_BASE_UNCASED_VOCAB, ensureHubFiles } from '../../hub/index.js';
import { BertTokenizer, IMAGEREWARD_MAX_LENGTH } from '../../tokenizer/index.js';
import { readFileChecked } from '../../util/fs.js';
import { stringOption, type Command } from '../command.js';
import { positiveIntOption } from './modelOptions.js';

const usage = [
  'usage: imagereward tokenize [--vocab FILE] [--max-length N] TEXT...',
  '       imagereward tokenize [--vocab FILE] --input FILE.jsonl     (lines {"text": ...}; - reads stdin)',
  '',
  `Prints one JSON line per text: {"text", "input_ids", "attention_mask"} (padding to max_length ${IMAGEREWARD_MAX_LENGTH} and`,
  'truncation as upstream ImageReward.score).',
  '',
  '  --vocab FILE       vocab.txt (default: bert-base-uncased from the cache, downloaded if missing)',
  `  --max-length N     sequence length (default ${IMAGEREWARD_MAX_LENGTH})`,
  '  --cache-dir DIR    cache (default: $IMAGEREWARD_CACHE, else ~/.cache/imagereward)',
  '  --offline          never download',
].join('\n');

/** All of stdin. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Texts of a JSON Lines file (`-`: stdin) whose lines are {"text": "..."} (blank lines skipped). */
export async function readTextsJsonl(path: string): Promise<string[]> {
  const bytes = path === '-' ? await readStdin() : await readFileChecked(path, 'input file');
  const name = path === '-' ? '<stdin>' : path;
  const lines = bytes.toString('utf8').split('\n');
  const texts: string[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new InputError(`${name}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    const text = (record as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new InputError(`${name}:${i + 1}: expected an object with a string "text" field`);
    texts.push(text);
  });
  return texts;
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'tokenize texts as ImageReward does (JSON lines)',
  usage,
  options: {
    vocab: { type: 'string' }, input: { type: 'string' }, 'max-length': { type: 'string' },
    'cache-dir': { type: 'string' }, offline: { type: 'boolean' }, json: { type: 'boolean' },
  },
  async run(args, io) {
    const input = stringOption(args, 'input');
    if (input !== undefined && args.positionals.length > 0) throw new InputError(`give texts or --input, not both\n${usage}`);
    const texts = input !== undefined ? await readTextsJsonl(input) : args.positionals;
    if (texts.length === 0) throw new InputError(`no texts given\n${usage}`);
    const maxLength = positiveIntOption(args, 'max-length') ?? IMAGEREWARD_MAX_LENGTH;
    const givenVocab = stringOption(args, 'vocab');
    const tokenizer = givenVocab !== undefined
      ? await BertTokenizer.fromVocabFile(givenVocab)
      : await BertTokenizer.fromVocabFile((await ensureHubFiles([BERT_BASE_UNCASED_VOCAB], {
        cacheDir: stringOption(args, 'cache-dir'),
        offline: args.values.offline === true ? true : undefined,
        progress: io.progress,
        log: (line) => io.info(line),
      }))[0]!, { expectedSha256: BERT_BASE_UNCASED_VOCAB.sha256 });
    for (const text of texts) {
      const { inputIds, attentionMask } = tokenizer.encode(text, { maxLength });
      io.out(JSON.stringify({ text, input_ids: inputIds, attention_mask: attentionMask }));
    }
    return 0;
  },
};

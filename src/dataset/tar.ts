/**
 * webdataset `.tar` shards as img2dataset writes them (tar-stream): the members sharing a key (the
 * member path up to the first dot of its file name) are one sample, its image (.jpg/.jpeg/.png/.webp)
 * scored for its caption (.txt, else the "caption" or "prompt" of its .json). Members are read one
 * at a time, each at most MAX_MEMBER_BYTES; a sample without an image or a caption is an error row.
 */
import { createReadStream } from 'node:fs';
import tar from 'tar-stream';
import { DatasetError } from '../train/errors.js';
import { badRow, type DatasetRow } from './row.js';

export const MAX_MEMBER_BYTES = 64 << 20;

const IMAGE = /^(jpe?g|png|webp)$/i;

/** `dir/000012.jpg` -> key `dir/000012`, extension `jpg` (webdataset: the extension starts at the first dot). */
function splitMember(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot < 0 ? { key: name, ext: '' } : { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

interface Sample {
  key: string;
  image?: { name: string; bytes: Uint8Array };
  txt?: string;
  json?: string;
  problem?: string;
}

function caption(s: Sample): string | undefined {
  if (s.txt !== undefined) return s.txt;
  if (s.json === undefined) return undefined;
  try {
    const o = JSON.parse(s.json) as Record<string, unknown>;
    return typeof o.caption === 'string' ? o.caption : typeof o.prompt === 'string' ? o.prompt : undefined;
  } catch {
    return undefined;
  }
}

function sampleRow(row: number, s: Sample): DatasetRow {
  const prompt = caption(s);
  if (s.problem) return badRow(row, `sample ${s.key}: ${s.problem}`, { prompt, image: s.image?.name });
  if (!s.image) return badRow(row, `sample ${s.key} has no .jpg/.jpeg/.png/.webp image`, { prompt });
  if (prompt === undefined) return badRow(row, `sample ${s.key} has no caption (.txt, or "caption" / "prompt" in its .json)`, { image: s.image.name });
  return { row, prompt, imageName: s.image.name, image: s.image.bytes };
}

async function readMember(entry: AsyncIterable<Buffer>, size: number): Promise<Buffer | undefined> {
  if (size > MAX_MEMBER_BYTES) {
    for await (const _ of entry) { /* drain */ }
    return undefined;
  }
  const parts: Buffer[] = [];
  for await (const chunk of entry) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function* tarRows(path: string): AsyncGenerator<DatasetRow> {
  const extract = tar.extract();
  const input = createReadStream(path);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  let row = 0;
  let sample: Sample | undefined;
  try {
    for await (const entry of extract) {
      const { name, type, size = 0 } = entry.header;
      if (type !== 'file' && type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const { key, ext } = splitMember(name);
      if (sample && sample.key !== key) {
        yield sampleRow(row++, sample);
        sample = undefined;
      }
      sample ??= { key };
      const known = IMAGE.test(ext) || ext === 'txt' || ext === 'json';
      if (!known) {
        entry.resume();
        continue;
      }
      const bytes = await readMember(entry as unknown as AsyncIterable<Buffer>, size);
      if (bytes === undefined) {
        sample.problem = `member ${name} is ${size} bytes, more than ${MAX_MEMBER_BYTES}`;
        if (IMAGE.test(ext)) sample.image = { name, bytes: new Uint8Array(0) };
      } else if (IMAGE.test(ext)) {
        if (sample.image) sample.problem = `two images (${sample.image.name}, ${name})`;
        sample.image = { name, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
      } else if (ext === 'txt') {
        sample.txt = bytes.toString('utf8').trim();
      } else {
        sample.json = bytes.toString('utf8');
      }
    }
  } catch (err) {
    throw new DatasetError(path, row, `is not a readable tar file: ${(err as Error).message}`, { cause: err });
  } finally {
    input.destroy();
  }
  if (sample) yield sampleRow(row++, sample);
}

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';

/** Reads a whole file, turning fs errors into a FileError that names the path and the reason. */
export async function readFileChecked(path: string, what = 'file'): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new FileError(path, `${what} ${path} is a directory, not a file`);
    return await readFile(path);
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(path, `cannot read ${what} ${path}: ${describeFsError(err)}`, { cause: err });
  }
}

/** Opens a file for reading, turning fs errors into a FileError: "cannot open {what} {path}: {reason}". */
export function openForReading(path: string, what: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new FileError(path, `cannot open ${what} ${path}: ${describeFsError(err)}`, { cause: err });
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks that the folder an output file goes into exists: a file the user names is written only into
 * an existing folder (no silent `mkdir -p` of a mistyped path). Caches create their own folders.
 */
export function checkOutputFolder(target: string, what: string): void {
  const folder = dirname(resolve(target));
  let info;
  try {
    info = statSync(folder);
  } catch (err) {
    throw new FileError(folder, `cannot write ${what} ${target}: the folder ${folder} does not exist (${describeFsError(err)}); create it first`, { cause: err });
  }
  if (!info.isDirectory()) throw new FileError(folder, `cannot write ${what} ${target}: ${folder} is not a folder`);
}

/** A temp path next to `target`, so the final rename stays on one filesystem. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes a file atomically: `write` gets a file descriptor of a temp file beside `target`; on success
 * the temp file is fsynced and renamed over `target`, on failure it is removed. Readers never see a
 * half-written file.
 */
export async function writeFileAtomic(target: string, write: (fd: number) => void | Promise<void>): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fd = openSync(tmp, 'w');
  try {
    await write(fd);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (err) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** writeSync until every byte of `bytes` is written (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

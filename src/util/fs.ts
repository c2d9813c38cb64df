import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';
import { removeOnInterrupt } from './interrupt.js';

/**
 * Largest file readFileChecked reads unless told otherwise: more than any image Pillow would open
 * (MAX_IMAGE_PIXELS x 8 bytes, stored) and below Node's Buffer limit.
 */
export const DEFAULT_MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * O_NONBLOCK so that opening a FIFO returns at once (then fstat refuses it) instead of waiting for a
 * writer; for regular files the flag changes nothing.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function fileKind(info: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(path: string, what: string, info: Parameters<typeof fileKind>[0]): FileError {
  const kind = fileKind(info);
  return new FileError(path, `${what} ${path} is ${kind}${kind.startsWith('not') ? '' : ', not a regular file'}`);
}

function tooLarge(path: string, what: string, size: number, maxBytes: number): FileError {
  return new FileError(path, `${what} ${path} is ${size} bytes, more than the ${maxBytes} bytes a ${what} may have`);
}

/**
 * Reads a whole regular file, turning fs errors into a FileError that names the path and the reason.
 * The size is checked before reading (fstat on the opened descriptor: no race with a swapped path), at
 * most size + 1 bytes are read, and a file that is not that size when read (growing, shrinking, or a
 * /proc-style file whose size says 0) is refused: memory is bounded by `maxBytes`, and devices
 * (/dev/zero) and FIFOs are refused without reading.
 */
export async function readFileChecked(path: string, what = 'file', maxBytes = DEFAULT_MAX_READ_BYTES): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, OPEN_FLAGS);
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path, what, info);
    if (info.size > maxBytes) throw tooLarge(path, what, info.size, maxBytes);
    const out = Buffer.allocUnsafe(info.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(out, got, out.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > info.size) throw new FileError(path, `${what} ${path} changed size while being read (more than its ${info.size} bytes)`);
    }
    if (got !== info.size) throw new FileError(path, `${what} ${path} changed size while being read (${got} of ${info.size} bytes)`);
    return out.subarray(0, got);
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(path, `cannot read ${what} ${path}: ${describeFsError(err)}`, { cause: err });
  } finally {
    await handle?.close();
  }
}

/**
 * Opens a regular file for reading, turning fs errors into a FileError: "cannot open {what} {path}:
 * {reason}"; directories, devices, FIFOs and sockets are refused (without blocking on a FIFO).
 * `maxBytes` bounds the size the caller will be asked to handle.
 */
export function openForReading(path: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): number {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw new FileError(path, `cannot open ${what} ${path}: ${describeFsError(err)}`, { cause: err });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw notRegular(path, what, info);
    if (info.size > maxBytes) throw tooLarge(path, what, info.size, maxBytes);
    return fd;
  } catch (err) {
    closeSync(fd);
    if (err instanceof FileError) throw err;
    throw new FileError(path, `cannot read ${what} ${path}: ${describeFsError(err)}`, { cause: err });
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
 * the temp file is fsynced and renamed over `target`, on failure (or SIGINT / SIGTERM, see
 * util/interrupt.ts) it is removed. Readers never see a half-written file.
 */
export async function writeFileAtomic(target: string, write: (fd: number) => void | Promise<void>): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const untrack = removeOnInterrupt(tmp); // SIGINT / SIGTERM meanwhile: the temp file goes too
  try {
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
  } finally {
    untrack();
  }
}

/** writeSync until every byte of `bytes` is written (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

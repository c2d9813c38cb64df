/**
 * What src/util/fs.ts becomes in the browser build (scripts/build-browser.ts swaps it in): there are
 * no file paths in a browser, so the one file reader the browser's modules reach (BertTokenizer's
 * fromVocabFile) says so instead of pulling node:fs into the bundle.
 */
import { FileError } from '../errors.js';

export async function readFileChecked(path: string, what = 'file'): Promise<never> {
  throw new FileError(path, `cannot read ${what} ${path}: there are no file paths in a browser (pass bytes or a URL)`);
}

/**
 * `npm run build:browser`: dist/browser/imagereward.js, one ES module with the browser API
 * (src/browser/index.ts: ImageRewardCore, tokenizer, image pipeline, tfjs with its webgpu and wasm
 * backends), and beside it the .wasm files it fetches at run time (tfjs-backend-wasm's three builds,
 * the @jsquash JPEG / WebP decoders), found relative to the bundle's own URL.
 *
 * The bundle must not contain anything from Node: the build fails, naming the importer, when a module
 * it reaches imports a Node built-in. The one Node-only module the browser's modules reach,
 * src/util/fs.ts (BertTokenizer.fromVocabFile), is swapped for src/browser/noFiles.ts.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BROWSER_DIST = join(root, 'dist', 'browser');
export const BUNDLE_NAME = 'imagereward.js';
const require = createRequire(import.meta.url);

/** Files fetched by the bundle at run time, copied beside it under their own names. */
const WASM_FILES = [
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
  '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
  '@jsquash/webp/codec/dec/webp_dec.wasm',
];

const NODE_ONLY = join(root, 'src', 'util', 'fs.ts');
const BROWSER_STANDIN = join(root, 'src', 'browser', 'noFiles.ts');

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);
}

const CHECKING = Symbol('checking');

/** Swaps util/fs.ts for its browser stand-in, and refuses every Node built-in. */
export const browserOnlyPlugin: Plugin = {
  name: 'browser-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === CHECKING) return undefined;
      if (isBuiltin(args.path)) {
        // allowed only where the importing package's "browser" field maps it to nothing
        const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: CHECKING });
        if (resolved.errors.length === 0) return undefined;
        return { errors: [{ text: `${args.importer.replace(`${root}/`, '')} imports the Node built-in "${args.path}": the browser bundle must not contain Node modules` }] };
      }
      if (args.path.startsWith('.') && resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')) === NODE_ONLY) return { path: BROWSER_STANDIN };
      return undefined;
    });
  },
};

export interface BrowserBuild {
  readonly bundle: string;
  readonly bytes: number;
  readonly files: string[];
}

export async function buildBrowser(outDir = BROWSER_DIST): Promise<BrowserBuild> {
  for (const name of existsDir(outDir) ? readdirSync(outDir) : []) {
    if (name === BUNDLE_NAME || name.endsWith('.wasm')) rmSync(join(outDir, name));
  }
  mkdirSync(outDir, { recursive: true });
  const bundle = join(outDir, BUNDLE_NAME);
  await build({
    entryPoints: [join(root, 'src', 'browser', 'index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    plugins: [browserOnlyPlugin],
    logLevel: 'warning',
  });
  const files = [BUNDLE_NAME];
  for (const spec of WASM_FILES) {
    const name = spec.split('/').at(-1)!;
    copyFileSync(require.resolve(spec), join(outDir, name));
    files.push(name);
  }
  return { bundle, bytes: statSync(bundle).size, files };
}

function existsDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildBrowser();
  console.error(`build:browser: ${out.files.join(', ')} in dist/browser/ (bundle ${(out.bytes / 2 ** 20).toFixed(1)} MiB)`);
}

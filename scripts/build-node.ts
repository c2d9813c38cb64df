/**
 * `npm run build:node`: compiles src/ to ES modules and .d.ts in dist/ (tsconfig.build.json), then makes
 * the declarations stand alone and checks that the output runs outside this repo:
 *
 * - The declarations name `@tensorflow/tfjs-core` instead of `@tensorflow/tfjs`. Every tfjs type our
 *   API shows (Tensor, Rank, Scalar, ...) is tfjs-core's, re-exported unchanged by `@tensorflow/tfjs`;
 *   but the union package's declarations also pull in tfjs-layers', which do not compile under a
 *   consumer's `strict` with `skipLibCheck: false` (LayersModel vs InferenceModel). tfjs-core is a
 *   dependency of ours for this reason.
 * - Those declarations reference `/// <reference types="long" />`: tfjs-core's hash_util.d.ts uses the
 *   global `Long` of @types/long (also a dependency) without referencing it, which breaks a consumer
 *   whose tsconfig lists `types` (TypeScript 5.9's `tsc --init` writes `"types": []`).
 * - Every relative import in dist/ must land on a file inside dist/ (a source importing `../x` outside
 *   src/ would compile and then fail once installed), and every package imported must be one a user
 *   installs: a dependency or optional dependency for the JavaScript, a dependency for the declarations
 *   (never a devDependency such as @types/node's siblings or upng-js' local ambient module).
 *
 * The browser bundle (dist/browser/imagereward.js and its .wasm files) belongs to the `build:browser`
 * step and is left alone; everything else in dist/ (dist/browser/*.d.ts, the types of the bundle,
 * included) is rebuilt from scratch, so files moved or deleted in src/ never linger in the package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** The files of build:browser (scripts/build-browser.ts), relative to dist/. */
const BROWSER_BUNDLE = /^browser\/(imagereward\.js|[^/]+\.wasm)$/;

function isBrowserBundle(file: string): boolean {
  return BROWSER_BUNDLE.test(relative(dist, file).split(sep).join('/'));
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);
}

function clean(): void {
  if (!existsSync(dist)) return;
  for (const file of filesUnder(dist)) if (!isBrowserBundle(file)) rmSync(file, { force: true });
}

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
}

const TFJS_IMPORT = /(from |import\()(['"])@tensorflow\/tfjs\2/g;

/** Points the declarations at tfjs-core (see the header) and references @types/long where they do. */
function rewriteDeclarations(files: string[]): void {
  for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(file, 'utf8');
    if (!TFJS_IMPORT.test(text)) continue;
    TFJS_IMPORT.lastIndex = 0;
    writeFileSync(file, `/// <reference types="long" />\n${text.replace(TFJS_IMPORT, '$1$2@tensorflow/tfjs-core$2')}`);
  }
}

/** Every problem with the imports of the emitted files (empty: all good). */
function importProblems(files: string[], pkg: PackageJson): string[] {
  const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const typed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const problems: string[] = [];
  for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
    const declaration = file.endsWith('.d.ts');
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const where = relative(root, file);
    for (const { fileName: spec } of info.importedFiles) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), declaration ? spec.replace(/\.js$/, '.d.ts') : spec);
        if (!target.startsWith(dist + sep)) problems.push(`${where}: "${spec}" points outside dist/`);
        else if (!existsSync(target) || !statSync(target).isFile()) problems.push(`${where}: "${spec}" does not exist in dist/`);
      } else if (!isBuiltin(spec) && !(declaration ? typed : runtime).has(packageName(spec))) {
        problems.push(`${where}: "${spec}" is not a ${declaration ? 'dependency' : 'dependency or optional dependency'}`);
      }
    }
    for (const { fileName: name } of info.typeReferenceDirectives) {
      if (!typed.has(`@types/${name}`)) problems.push(`${where}: reference types="${name}" but @types/${name} is not a dependency`);
    }
  }
  return problems;
}

clean();
compile();
const files = filesUnder(dist).filter((f) => !isBrowserBundle(f));
rewriteDeclarations(files);
const problems = importProblems(files, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson);
if (problems.length > 0) {
  console.error(`build:node: the compiled package would not run once installed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.error(`build:node: ${files.length} files in dist/`);

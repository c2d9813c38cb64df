/**
 * A throwaway project that depends on this package as a user's would: `npm pack` the repo, then install
 * the tarball with `npm ci --offline`. Its lockfile is this repo's own, less the dev-only packages, with
 * the tarball as the root's dependency, so the install needs only what this repo's `npm ci` already put
 * in npm's cache (the exact versions tested here; no registry lookups, no network).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface PackResult {
  /** The tarball's file name (in the destination folder). */
  readonly filename: string;
  readonly integrity: string;
  /** Every path the tarball holds, relative to the package root. */
  readonly files: string[];
  readonly size: number;
  readonly unpackedSize: number;
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

/** `npm pack` of `repo` into `dest` (runs `prepare`, i.e. the build). */
export async function packInto(repo: string, dest: string): Promise<PackResult> {
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', dest], { cwd: repo, maxBuffer: 16 << 20 });
  const [entry] = JSON.parse(stdout) as { filename: string; integrity: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  if (!entry) throw new Error(`npm pack printed no package: ${stdout}`);
  return { filename: entry.filename, integrity: entry.integrity, files: entry.files.map((f) => f.path), size: entry.size, unpackedSize: entry.unpackedSize };
}

/**
 * Writes package.json and package-lock.json of a project in `dir` whose one dependency is the tarball
 * `pack.filename` (already in `dir`) and whose devDependencies are `devDependencies` (names of
 * packages this repo's lockfile holds, at the versions it holds them).
 */
export function writeConsumerProject(repo: string, dir: string, pack: PackResult, devDependencies: readonly string[]): void {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as PackageJson;
  const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };
  const spec = `file:${pack.filename}`;
  const devVersions = Object.fromEntries(devDependencies.map((name) => {
    const version = repoLock.packages[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`${name} is not in this repo's package-lock.json`);
    return [name, version];
  }));
  const project = { name: 'imagereward-consumer', version: '1.0.0', private: true, type: 'module', dependencies: { [pkg.name]: spec }, devDependencies: devVersions };
  const packages: Record<string, unknown> = {
    '': { name: project.name, version: project.version, dependencies: project.dependencies, devDependencies: devVersions },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version, resolved: spec, integrity: pack.integrity, license: pkg.license, dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies, bin: pkg.bin, engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path === '' || entry.dev) continue;
    const { devOptional, ...rest } = entry;
    // needed by a devDependency or an optional one here; only the optional side exists in the consumer
    packages[path] = devOptional ? { ...rest, optional: true } : rest;
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify({ name: project.name, version: project.version, lockfileVersion: repoLock.lockfileVersion, requires: true, packages }, null, 2)}\n`);
}

/** `npm ci --offline` in `dir`: installs exactly the lockfile from npm's cache. */
export async function installOffline(dir: string): Promise<void> {
  await run(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, maxBuffer: 16 << 20 });
}

/**
 * The package's name and version, read from its package.json at run time: src/cli/ in a checkout and
 * dist/cli/ in the installed package both sit two folders below it (a JSON import would have to
 * reach outside src/, the compiled package's root).
 */
import { readFileSync } from 'node:fs';

export interface PackageVersion {
  readonly name: string;
  readonly version: string;
}

export function packageVersion(): PackageVersion {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Partial<PackageVersion>;
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') throw new Error('package.json has no name or version');
  return { name: pkg.name, version: pkg.version };
}

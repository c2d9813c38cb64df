/**
 * The one place tests find the golden fixtures: $IMAGEREWARD_FIXTURES, else ../shared/fixtures
 * beside the repo. A suite whose fixtures are missing says so loudly and skips; under CI=true a
 * missing fixture fails instead.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const FIXTURES_DIR = resolve(process.env.IMAGEREWARD_FIXTURES ?? join(repoRoot, '..', 'shared', 'fixtures'));

/** Absolute path of a fixture, e.g. fixturePath('tiny/tiny.safetensors'). */
export function fixturePath(rel: string): string {
  return join(FIXTURES_DIR, rel);
}

/**
 * Call in a mocha `before`/`it` with `this`: skips the suite (with a loud warning) when any of the
 * fixtures is missing, or throws under CI=true.
 */
export function requireFixtures(ctx: Mocha.Context, ...rels: string[]): void {
  const missing = rels.filter((r) => !existsSync(fixturePath(r)));
  if (missing.length === 0) return;
  const msg = `fixtures missing under ${FIXTURES_DIR}: ${missing.join(', ')} (set IMAGEREWARD_FIXTURES)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n  !!! SKIPPING: ${msg}\n`);
  ctx.skip();
}

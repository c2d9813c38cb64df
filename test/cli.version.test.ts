import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'imagereward.js'), ...argv], { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('CLI --version (real process)', () => {
  it('prints the package.json version alone on stdout, exit 0', async () => {
    expect(pkg.version).to.match(/^\d+\.\d+\.\d+/);
    expect(await run('--version')).to.deep.equal({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('--version --json prints {"name", "version"}', async () => {
    const { code, stdout } = await run('--version', '--json');
    expect(code).to.equal(0);
    expect(JSON.parse(stdout)).to.deep.equal({ name: pkg.name, version: pkg.version });
  });

  it('refuses other arguments with exit 2 and says which', async () => {
    const { code, stdout, stderr } = await run('--version', 'score');
    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.equal('imagereward --version: no arguments allowed but --json (got score)\n');
  });
});

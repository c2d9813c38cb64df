import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cliProcess.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

async function run(...argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCli(argv);
  return { code, stdout, stderr };
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

/**
 * src/util/interrupt.ts in the library's mode (no exitOnInterrupt): handlers exist only while a
 * cleanup is live; a signal then removes the tracked files and exits 130 / 143, unless the
 * application listens to the signal itself, which then keeps control. Each case runs in a child.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './helpers/cliProcess.js';

const MODULE = pathToFileURL(join(REPO_ROOT, 'src', 'util', 'interrupt.ts')).href;

function child(body: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import * as I from ${JSON.stringify(MODULE)};\n${body}`], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('interrupt cleanups (library mode, child processes)', function () {
  this.timeout(60_000);
  let tmp: string;
  let file: string;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ir-interrupt-'));
    file = join(tmp, '.out.tmp');
    writeFileSync(file, 'half');
  });

  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('no listeners before and after a cleanup is live', () => {
    const r = child(`
      const count = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
      const before = count();
      const untrack = I.removeOnInterrupt(${JSON.stringify(file)});
      const during = count();
      untrack();
      console.log(JSON.stringify([before, during, count()]));`);
    expect(r.stderr).to.equal('');
    expect(JSON.parse(r.stdout)).to.deep.equal([0, 2, 0]);
    expect(existsSync(file), 'untrack does not remove').to.equal(true);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} while a temp file is live removes it and exits ${code}`, () => {
      const r = child(`
        I.removeOnInterrupt(${JSON.stringify(file)});
        setTimeout(() => console.log('not interrupted'), 5000);
        process.kill(process.pid, '${signal}');`);
      expect(r.status).to.equal(code);
      expect(r.stdout).to.equal('');
      expect(existsSync(file)).to.equal(false);
    });
  }

  it('an application listening to SIGINT keeps control: the file goes, the process carries on', () => {
    const r = child(`
      process.on('SIGINT', () => setTimeout(() => { console.log('app handled, listeners ' + process.listenerCount('SIGINT')); process.exit(0); }, 10));
      I.removeOnInterrupt(${JSON.stringify(file)});
      process.kill(process.pid, 'SIGINT');
      setTimeout(() => {}, 5000);`);
    expect(r.status).to.equal(0);
    expect(r.stdout.trim()).to.equal('app handled, listeners 1');
    expect(existsSync(file)).to.equal(false);
  });
});

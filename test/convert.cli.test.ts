import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/command.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

function captureIO(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), isTTY: false };
}

describe('CLI: imagereward convert', () => {
  let dir: string;
  before(function () {
    requireFixtures(this, 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json');
    dir = mkdtempSync(join(tmpdir(), 'ir-cli-convert-'));
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('converts tiny.pt with progress lines on stderr and a JSON summary on stdout', async () => {
    const out = join(dir, 'tiny.safetensors');
    const io = captureIO();
    const code = await main(['convert', fixturePath('tiny/tiny.pt'), '-o', out, '--med-config', fixturePath('tiny/med_config.json'),
      '--vit-config', fixturePath('tiny/vit_config.json'), '--dtype', 'f16', '--json'], io);
    expect(code).to.equal(0);
    expect(io.stdout).to.have.length(1);
    const summary = JSON.parse(io.stdout[0]!);
    expect(summary).to.include({ outPath: out, tensors: 101, dtype: 'f16' });
    expect(summary.extraKeys).to.deep.equal([]);
    expect(io.stderr.length).to.be.within(1, 101); // the first line, one every 2 s, the last
    expect(io.stderr.at(-1)).to.match(/^convert: 101\/101 tensors \(100%\), [\d.]+ tensors\/s$/);
    expect(readSafetensors(out).tensors.get('mlp.layers.0.weight')!.dtype).to.equal('F16');
  });

  it('bad usage and bad input exit 2 with a message and write nothing', async () => {
    const out = join(dir, 'never.safetensors');
    const cases: [string[], RegExp][] = [
      [['convert', fixturePath('tiny/tiny.pt')], /-o\/--output is required/],
      [['convert', '-o', out], /exactly one input checkpoint/],
      [['convert', fixturePath('tiny/tiny.pt'), '-o', out, '--dtype', 'bf16'], /--dtype must be f32 or f16/],
      [['convert', fixturePath('tiny/med_config.json'), '-o', out], /not a torch checkpoint/],
      [['convert', join(dir, 'nope.pt'), '-o', out], /no such file/],
    ];
    for (const [argv, pattern] of cases) {
      const io = captureIO();
      expect(await main([...argv, '--json'], io), argv.join(' ')).to.equal(2);
      expect(io.stderr.join('\n')).to.match(pattern);
      expect(JSON.parse(io.stdout.at(-1)!).error.code).to.be.a('string');
    }
    expect(existsSync(out)).to.equal(false);
  });
});

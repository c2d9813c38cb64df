import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createProgress, describeProgress } from '../src/util/progress.js';

/** A fake terminal: what cli-progress writes to it, and the calls it makes. */
function fakeTerminal(): Writable & { text: string; isTTY: boolean; columns: number; cursorTo(): boolean; clearLine(): boolean } {
  const stream = new Writable({ write(chunk, _enc, done) { stream.text += String(chunk); done(); } }) as Writable & {
    text: string; isTTY: boolean; columns: number; cursorTo(): boolean; clearLine(): boolean; moveCursor(): boolean; clearScreenDown(): boolean;
  };
  stream.text = '';
  stream.isTTY = true;
  stream.columns = 200;
  stream.cursorTo = () => true;
  stream.clearLine = () => true;
  stream.moveCursor = () => true;
  stream.clearScreenDown = () => true;
  return stream;
}

describe('progress (src/util/progress.ts)', () => {
  it('describes counts, percentage, rate and ETA; bytes in MiB', () => {
    expect(describeProgress(40, 120, 'tensors', 4000)).to.equal('40/120 tensors (33%), 10.0 tensors/s, ETA 8s');
    expect(describeProgress(120, 120, 'tensors', 4000)).to.equal('120/120 tensors (100%), 30.0 tensors/s');
    expect(describeProgress(0, 8, 'images', 10)).to.equal('0/8 images (0%)');
    expect(describeProgress(3 * 1048576, undefined, 'bytes', 2000)).to.equal('3.0 MiB, 1.5 MiB/s');
    expect(describeProgress(1, 1000, 'images', 1000)).to.equal('1/1000 images (0%), 1.0 images/s, ETA 16m39s');
  });

  it('plain lines: the first, at most one per interval, and the last (also when the total is set late)', () => {
    const lines: string[] = [];
    const task = createProgress('lines', { line: (l) => lines.push(l), intervalMs: 60_000 }).task('convert', undefined, 'tensors');
    task.setTotal(5);
    for (let i = 1; i <= 4; i++) task.update(i);
    task.finish();
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^convert: 1\/5 tensors \(20%\)/);
    expect(lines[1]).to.match(/^convert: 4\/5 tensors \(80%\)/);
    const done: string[] = [];
    const t2 = createProgress('lines', { line: (l) => done.push(l), intervalMs: 60_000 }).task('score', 3, 'images');
    [1, 2, 3].forEach((i) => t2.update(i, 'note'));
    t2.finish();
    expect(done).to.have.length(2);
    expect(done[1]).to.match(/^score: 3\/3 images \(100%\)(, [\d.]+ images\/s)?, note$/);
  });

  it('a bar on a terminal (cli-progress) with the counts, the note and a final newline; off shows nothing', () => {
    const tty = fakeTerminal();
    const task = createProgress('bar', { line: () => { throw new Error('no lines in bar mode'); }, stream: tty }).task('train-head', 4, 'epochs');
    // a rate needs elapsed time: within the same millisecond describeProgress rightly shows none
    const started = Date.now();
    while (Date.now() - started < 5) { /* let 5 ms pass */ }
    task.update(4, 'loss 0.1234');
    task.finish();
    expect(tty.text).to.match(/train-head \[[^\]]+\] 4\/4 epochs \(100%\), [\d.]+ epochs\/s, loss 0\.1234/);
    expect(tty.text.endsWith('\n')).to.equal(true);
    const lines: string[] = [];
    const off = createProgress('off', { line: (l) => lines.push(l) }).task('x', 1, 'images');
    off.update(1);
    off.finish();
    expect(lines).to.deep.equal([]);
  });
});

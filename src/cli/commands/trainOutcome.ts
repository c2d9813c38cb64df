/**
 * What `train-head` tells the user about a finished run: why it stopped, whether the kept head is
 * better than the one it started from, and, when it is not, what to change. A run that kept the
 * untrained head (early stopping at epoch 0: no epoch lowered the validation loss) or whose loss
 * fell by less than 0.1% (validation loss, else training loss) is refused, never written silently.
 */
import { TrainingError } from '../../train/errors.js';
import type { EpochMetrics, TrainHeadResult } from '../../train/trainer.js';

/** lr x factor without float noise (1e-9 x 10 = 1e-8, not 1.0000000000000001e-8). */
const scaled = (lr: number, factor: number) => Number((lr * factor).toPrecision(6));

const f4 = (x: number) => (Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(3));

/** Less than this relative drop of the loss from epoch 0 is no improvement (the head is, in effect, the untrained one). */
const MIN_GAIN = 1e-3;

/** Why the run stopped and which epoch it kept, in one clause. */
export function stopReason(result: TrainHeadResult): string {
  const last = result.history.at(-1)!.epoch;
  const { patience, epochs } = result.options;
  if (result.stoppedEarly) return `stopped early at epoch ${last}: no lower validation loss for ${patience} epochs (--patience ${patience}); kept epoch ${result.bestEpoch}`;
  if (result.history[0]!.validation) return `ran all ${epochs} epochs; kept epoch ${result.bestEpoch} (lowest validation loss)`;
  return `ran all ${epochs} epochs; kept the last (without --val or --val-split there is no early stopping)`;
}

/** The advice for a run that did not improve, from how its training loss moved. */
function advice(result: TrainHeadResult, initial: EpochMetrics, last: EpochMetrics): string {
  const { learningRate: lr, epochs } = result.options;
  const t0 = initial.train.loss;
  const t1 = last.train.loss;
  if (t1 > t0 * 1.001) return `The training loss rose too (${f4(t0)} -> ${f4(t1)}): --lr ${lr} is too large; try --lr ${scaled(lr, 0.1)}.`;
  if (t1 < t0 * 0.999 && initial.validation) {
    return `The training loss fell (${f4(t0)} -> ${f4(t1)}) but the validation loss did not: the ${initial.validation.pairs} validation pairs `
      + `disagree with the ${initial.train.pairs} training pairs (too few, or ranked differently). Give more data, a larger --val-split, a larger --patience, or a smaller --lr than ${lr}.`;
  }
  return `The loss barely moved (${f4(t0)} -> ${f4(t1)}): --lr ${lr} is too small for ${epochs} epochs over ${initial.train.pairs} pairs; try --lr ${scaled(lr, 10)} or more --epochs.`;
}

/** Throws a TrainingError naming why, when the kept head is no better than the starting one. */
export function checkImproved(result: TrainHeadResult, output: string): void {
  const initial = result.history[0]!;
  const last = result.history.at(-1)!;
  const best = result.history[result.bestEpoch]!;
  const metric = initial.validation ? 'validation' : 'training';
  const loss = (m: EpochMetrics) => (initial.validation ? m.validation!.loss : m.train.loss);
  let what: string | undefined;
  if (result.bestEpoch === 0) {
    const later = result.history.slice(1).reduce((a, m) => (loss(m) < loss(a) ? m : a), last);
    what = `the ${metric} loss was ${f4(loss(initial))} at epoch 0 (the head you started from) and never lower (best later: ${f4(loss(later))} at epoch ${later.epoch})`;
  } else if (!(loss(best) < loss(initial) * (1 - MIN_GAIN))) {
    what = `the ${metric} loss went from ${f4(loss(initial))} at epoch 0 (the head you started from) to ${f4(loss(best))} at epoch ${best.epoch}`
      + (loss(best) < loss(initial) ? `, less than ${100 * MIN_GAIN}% lower` : '');
  }
  if (what === undefined) return;
  throw new TrainingError(`no epoch improved on the untrained head: ${what}; ${stopReason(result)}. ${output} was not written. ${advice(result, initial, last)}`);
}

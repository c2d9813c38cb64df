/** Progress lines for feature extraction: at most one every `intervalMs`, and always the last one. */
import type { FeatureProgress } from './features.js';

export function progressLogger(log: (line: string) => void, intervalMs = 5000): (p: FeatureProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.done < p.total && now - last < intervalMs) return;
    last = now;
    log(`features: ${p.done}/${p.total} images (${p.reused} from the cache, ${p.computed} computed)`);
  };
}

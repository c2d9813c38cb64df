/** A one-line download progress bar, redrawn with \r on a terminal. */

export type ProgressSink = (received: number, total: number | undefined) => void;

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** A sink drawing `label [#####     ] 42% 10.0/23.8 MiB` on `stream`, at most ~10 times a second. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): { update: ProgressSink; done(): void } {
  let last = 0;
  let drawn = false;
  const draw = (received: number, total: number | undefined) => {
    const width = 30;
    const text = total
      ? `${label} [${'#'.repeat(Math.round((received / total) * width)).padEnd(width)}] ${Math.floor((received / total) * 100)}% ${mib(received)}/${mib(total)}`
      : `${label} ${mib(received)}`;
    stream.write(`\r${text}`);
    drawn = true;
  };
  return {
    update(received, total) {
      const now = Date.now();
      if (now - last < 100 && received !== total) return;
      last = now;
      draw(received, total);
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}

/** Small string helpers for messages. */

/** The first line of a (possibly multi-line) message: errors from libraries often carry a stack or hints after it. */
export function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}

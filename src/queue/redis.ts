/**
 * The Redis connection of the queue mode (ioredis, the driver BullMQ drives). Connecting is checked
 * up front: an unreachable or wrong URL is a QueueError naming it within CONNECT_TIMEOUT_MS, never a
 * process that waits forever. Once connected, a dropped connection is retried for about half a
 * minute (a Redis restart); after that `lost` rejects, and whoever waits on the queue stops with it.
 */
import { Redis } from 'ioredis';
import { InputError, QueueError } from '../errors.js';

const CONNECT_TIMEOUT_MS = 5000;
/** Reconnect attempts after a drop, 250 ms apart growing to 2 s: about 30 s in all. */
const RECONNECT_TRIES = 20;

export interface RedisConnection {
  /** Shared with every BullMQ Queue / Worker / QueueEvents of this process (they duplicate it as they need). */
  readonly client: Redis;
  /** The URL without its password, for messages. */
  readonly url: string;
  /** Rejects (QUEUE_UNAVAILABLE) when the connection is gone for good; never resolves. */
  readonly lost: Promise<never>;
  close(): Promise<void>;
}

/** `redis://user:secret@host:6379/0` -> `redis://user:***@host:6379/0`; refuses what is not a Redis URL. */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`--redis ${JSON.stringify(url)} is not a URL: give redis://HOST:PORT (or rediss:// for TLS)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InputError(`--redis ${JSON.stringify(url)}: the URL must start with redis:// or rediss://`);
  }
  if (parsed.password !== '') parsed.password = '***';
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***'); // ioredis reads options from the query too
  return parsed.toString();
}

export async function connectRedis(url: string): Promise<RedisConnection> {
  const shown = redactRedisUrl(url);
  let connected = false;
  let lastError: Error | undefined;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // BullMQ's workers block on Redis; a command must wait through a reconnect rather than fail
    maxRetriesPerRequest: null,
    // the first connect is not retried (the caller reports it); a drop later is, for a while
    retryStrategy: (times: number) => (!connected || times > RECONNECT_TRIES ? null : Math.min(250 * times, 2000)),
  });
  client.on('error', (err: Error) => { lastError = err; });
  const reason = () => (lastError ? ` (${lastError.message})` : '');
  let timer: NodeJS.Timeout | undefined;
  try {
    // connectTimeout covers the TCP connect only: a server that accepts and never answers is timed here
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    });
    const attempt = client.connect().then(() => client.ping());
    attempt.catch(() => {}); // when the timer wins, the attempt's own failure comes later and is expected
    await Promise.race([attempt, timeout]);
  } catch (err) {
    client.disconnect();
    throw new QueueError('QUEUE_UNAVAILABLE', shown, `cannot reach Redis at ${shown}${reason() || ` (${(err as Error).message})`}: start one (\`redis-server\`) or give the right --redis URL`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  connected = true;
  let closing = false;
  const lost = new Promise<never>((_, reject) => {
    client.on('end', () => {
      if (!closing) reject(new QueueError('QUEUE_UNAVAILABLE', shown, `lost the connection to Redis at ${shown}${reason()} and could not reconnect`));
    });
  });
  lost.catch(() => {}); // observed by whoever races it; unobserved it must not crash the process
  return {
    client,
    url: shown,
    lost,
    async close() {
      closing = true;
      await client.quit().catch(() => client.disconnect());
    },
  };
}

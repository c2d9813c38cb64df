/**
 * A real redis-server (Debian's package) for the queue tests: started on 127.0.0.1 with a free port,
 * no persistence, stopped after. Without redis-server the tests skip loudly; under CI=true (where
 * .ci/run installs it) a missing redis-server fails them instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function launch(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${output}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited ${code}: ${output}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Call in a mocha `before` with `this`. */
export async function startRedis(ctx: Mocha.Context): Promise<RedisServer> {
  if (!hasRedisServer()) {
    const msg = 'redis-server not found (Debian/Ubuntu: apt-get install redis-server)';
    if (process.env.CI === 'true') throw new Error(`the queue tests cannot run under CI: ${msg}`);
    console.warn(`\n  !!! SKIPPING queue tests: ${msg}\n`);
    ctx.skip();
  }
  return launch();
}

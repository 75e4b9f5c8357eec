// What a suite run owns and must leave nothing of: its temporary directory, the child processes
// it runs (one per case, and the baseline tools), and the servers it starts. Ctrl-C (SIGINT) or
// SIGTERM kills the children, stops the servers, removes the directory, then exits 130/143.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';

/** Resources of one run, released by `close()` or by a signal. */
export class Lifecycle {
  constructor({ tempParent, log }) {
    this.log = log;
    this.children = new Set();
    this.stoppers = [];
    this.closed = false;
    this.tempDir = mkdtempSync(path.join(tempParent, 's3dlio-bench-'));
    this.onSignal = (signal) => {
      // Once: a second Ctrl-C must not cut short the clean-up the first one started.
      if (this.signalled) return;
      this.signalled = signal;
      this.log(`${signal}: stopping every child process and server, removing ${this.tempDir}`);
      this.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Registers `stop` (async) to run at close, most recent first (a server's stop, a service's clean-up). */
  own(stop) {
    this.stoppers.push(stop);
  }

  /**
   * Runs `command args` as a tracked child; resolves with its exit status, stdout and stderr, and
   * its wall seconds (`stdout: 'ignore'` drops a large output). Rejects only when it cannot be
   * spawned.
   */
  run(command, args, { env, stdout: out = 'pipe' } = {}) {
    if (this.closed) return Promise.reject(new Error('the run is stopping'));
    return new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, 'pipe'] });
      this.children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('error', (error) => {
        this.children.delete(child);
        reject(error);
      });
      child.once('close', (status, signal) => {
        this.children.delete(child);
        resolve({ status, signal, stdout, stderr, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
      });
      this.onChild?.(child);
    });
  }

  /**
   * Kills the children, runs every stopper (servers, a service's objects) and removes the
   * temporary directory (once). A stopper that fails sets exit status 1.
   */
  async close() {
    if (this.closed) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      for (const child of this.children) child.kill('SIGKILL');
      for (const stop of this.stoppers.reverse()) {
        try {
          await stop();
        } catch (error) {
          // A server left running or objects left on a service: the run has failed.
          this.log(`cleaning up failed: ${error?.message ?? error}`);
          process.exitCode = 1;
        }
      }
      rmSync(this.tempDir, { recursive: true, force: true });
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    })();
    return this.closing;
  }
}

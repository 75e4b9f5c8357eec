// Progress of a run: a bar on a terminal (cli-progress), plain `[bench]` lines when piped, so
// logs and tests can follow it. Messages always go to stderr; results go to stdout.
import cliProgress from 'cli-progress';

/** A progress reporter over `total` cases. */
export function createProgress(total, { stream = process.stderr, tty = stream.isTTY } = {}) {
  let done = 0;
  if (tty) {
    const bar = new cliProgress.SingleBar(
      { stream, format: '{bar} {value}/{total} cases | {name}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { name: 'starting' });
    return {
      start: (name) => bar.update(done, { name }),
      finish: () => bar.update(++done),
      log: (message) => {
        // A line above the bar: clear it, write, redraw.
        stream.write(`\r\x1b[K${message}\n`);
        bar.render?.();
      },
      detail: () => {}, // child pids and such: for logs, not for a person watching the bar
      stop: () => bar.stop(),
    };
  }
  return {
    start: (name) => stream.write(`[bench] ${done + 1}/${total} ${name}\n`),
    finish: () => done++,
    log: (message) => stream.write(`[bench] ${message}\n`),
    detail: (message) => stream.write(`[bench]   ${message}\n`),
    stop: () => {},
  };
}

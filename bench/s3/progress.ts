// The progress line of a run: rewritten in place on a terminal, one line every few seconds elsewhere (CI logs).
const NON_TTY_EVERY_MS = 5000;

export interface ProgressPrinter {
  update(text: string): void;
  done(text: string): void;
}

export function progressPrinter(): ProgressPrinter {
  const tty = process.stderr.isTTY === true;
  let lastPrintedMs = 0;
  return {
    update(text) {
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else if (Date.now() - lastPrintedMs >= NON_TTY_EVERY_MS) {
        lastPrintedMs = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
    done(text) {
      process.stderr.write(tty ? `\r\x1b[K${text}\n` : `${text}\n`);
      lastPrintedMs = 0;
    },
  };
}


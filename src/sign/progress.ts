/** A one-line progress meter on a TTY stderr; silent elsewhere (CI logs stay clean). */
export interface Progress {
  advance(bytes: number): void;
  done(): void;
}

const SILENT: Progress = { advance: () => undefined, done: () => undefined };

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string, total: number): Progress {
  if (!stream.isTTY) return SILENT;
  const started = Date.now();
  let seen = 0;
  let lastDraw = 0;
  const draw = (): void => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const percent = total > 0 ? Math.floor((seen / total) * 100) : 100;
    stream.write(`\r${label} ${String(percent).padStart(3)}%  ${human(seen)} / ${human(total)}  ${human(seen / seconds)}/s\u001b[K`);
  };
  return {
    advance(bytes) {
      seen += bytes;
      const now = Date.now();
      if (now - lastDraw >= 100) {
        lastDraw = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}

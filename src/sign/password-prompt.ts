import { SignetError } from '../core/errors.ts';

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * Reads a password from the terminal without echoing it, as cosign does when COSIGN_PASSWORD is
 * not set: the prompt on stderr, the keys read in raw mode. Ctrl-C or Ctrl-D cancels.
 */
export async function promptPassword(stdin: TtyInput, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') throw new SignetError('USAGE', 'no terminal to ask for the password on');
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer | string): void => {
        for (const char of chunk.toString()) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData);
            resolve(typed);
            return;
          }
          if (char === '\u0003' || char === '\u0004') {
            stdin.off('data', onData);
            reject(new SignetError('USAGE', 'cancelled: no password was given'));
            return;
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    stderr.write('\n');
  }
}

import { endQuietlyWhenReaderLeaves } from './closed-pipe.ts';
import { main } from './main.ts';

endQuietlyWhenReaderLeaves([process.stdout, process.stderr]);

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;

// Runs one of the user's programs (`vmplane`, `kubectl vm`) on this process's command line: the
// program registers its commands, one of them must be named, and an unknown command or option is
// an error. Errors are told as yargs tells them: the help, then the message, exit 1.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';

export async function runProgram(
  scriptName: string,
  register: (program: Argv) => void,
): Promise<void> {
  const program = yargs(hideBin(process.argv)).scriptName(scriptName);
  register(program);
  await program.demandCommand(1, 'name a command; --help lists them').strict().help().parseAsync();
}

// The vmplane command line for policy teams: test and evaluate policies offline. (The sandbox is
// the development harness's: `npm start`; the cluster commands are `kubectl vm`.)
import { registerPolicyCommands } from './policy/commands.ts';
import { runProgram } from './run.ts';

await runProgram('vmplane', registerPolicyCommands);

// `kubectl vm`: VM power, migration, console, port-forward and ssh, networks, creation and policy checks, as a kubectl plugin (kubectl-vm on
// PATH). It is to vmplane what virtctl is to KubeVirt, and it speaks the policies. Each command
// group lives in its own file; this one puts them together in the order `--help` lists them.
import { registerPolicyCommands } from '../policy/commands.ts';
import { runProgram } from '../run.ts';
import { registerCatalogCommands } from './catalog.ts';
import { registerConsoleCommand } from './console.ts';
import { registerCreateCommand } from './create.ts';
import { registerEngineCommand } from './engine.ts';
import { registerReleaseFinalizersCommand } from './finalizers.ts';
import { registerEvacuateCommands } from './evacuate.ts';
import { registerMigrateCommands } from './migrate.ts';
import { registerNetworkCommands } from './networks.ts';
import { registerPortForwardCommand } from './portforward.ts';
import { registerPowerCommands } from './power.ts';
import { registerShowCommands } from './show.ts';
import { registerSshCommand } from './ssh.ts';
import { registerVncCommand } from './vnc.ts';

await runProgram('kubectl vm', (program) => {
  program.usage(
    'kubectl vm COMMAND: run and check vmplane VMs. Honours --kubeconfig, --context and -n like kubectl.',
  );
  registerShowCommands(program);
  registerEngineCommand(program);
  registerPowerCommands(program);
  registerMigrateCommands(program);
  registerEvacuateCommands(program);
  registerConsoleCommand(program);
  registerVncCommand(program);
  registerPortForwardCommand(program);
  registerSshCommand(program);
  registerNetworkCommands(program);
  registerCreateCommand(program);
  registerCatalogCommands(program);
  registerReleaseFinalizersCommand(program);
  registerPolicyCommands(program);
  program.completion(
    'completion',
    'Print a bash/zsh completion script: kubectl vm completion >> ~/.bashrc',
  );
});

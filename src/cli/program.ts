import { Command, CommanderError } from 'commander';
import { registerKeys } from './commands/keys.ts';
import { registerCerts } from './commands/certs.ts';
import { registerServe } from './commands/serve.ts';
import { registerRegistrationToken } from './commands/registration_token.ts';
import { registerClients } from './commands/clients.ts';
import { registerUsers } from './commands/users.ts';
import { registerLogin } from './commands/login.ts';
import { registerStatus } from './commands/status.ts';
import { EXIT, reportError } from './exit.ts';

/** Builds the `gatehouse` command line. Each subcommand lives in `commands/`. */
export function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: an OAuth 2.0 / OpenID Connect authorization server for CLIs and services')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerKeys(program);
  registerRegistrationToken(program);
  registerClients(program);
  registerCerts(program);
  registerUsers(program);
  registerLogin(program);
  registerStatus(program);
  return program;
}

/** Runs the command line and returns the exit status instead of exiting (tests call this). */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.unknownOption') {
        process.stderr.write('An identifier that starts with "-" goes after "--", e.g. `gatehouse clients show -- -abc`.\n');
      }
      return EXIT.usage;
    }
    return reportError(err);
  }
}

import { Command, CommanderError } from 'commander';
import { EXIT, reportError } from './exit.ts';

type Register = (program: Command) => void;

/**
 * Each subcommand's module (in `commands/`), loaded only when needed, in help order, with the
 * top-level command names it registers. `gatehouse serve` then never loads the code of the admin
 * and login commands (and their libraries: the QR code renderer, the OAuth client, …), which a
 * long-running server would otherwise keep resident for nothing.
 */
const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServe },
  { names: ['keys'], load: async () => (await import('./commands/keys.ts')).registerKeys },
  { names: ['registration-token'], load: async () => (await import('./commands/registration_token.ts')).registerRegistrationToken },
  { names: ['clients'], load: async () => (await import('./commands/clients.ts')).registerClients },
  { names: ['certs'], load: async () => (await import('./commands/certs.ts')).registerCerts },
  { names: ['users'], load: async () => (await import('./commands/users.ts')).registerUsers },
  { names: ['login', 'token', 'logout'], load: async () => (await import('./commands/login.ts')).registerLogin },
  { names: ['status'], load: async () => (await import('./commands/status.ts')).registerStatus },
];

/**
 * Builds the `gatehouse` command line. When `argv` starts with a subcommand's name, only that
 * subcommand is registered (its parsing, options and help are the same either way); otherwise
 * (no arguments, `--help`, `--version`, an unknown name) every subcommand is, for the full help and
 * commander's "did you mean" suggestions.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('gatehouse')
    .description('Gatehouse: an OAuth 2.0 / OpenID Connect authorization server for CLIs and services')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const named = COMMANDS.find((c) => c.names.includes(argv[0] ?? ''));
  for (const register of await Promise.all((named ? [named] : COMMANDS).map((c) => c.load()))) register(program);
  return program;
}

/** Runs the command line and returns the exit status instead of exiting (tests call this). */
export async function run(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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

import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { startGatehouse } from '../../server/gatehouse.ts';
import { createLogger, routeLibraryNotices } from '../../shared/logger.ts';
import { EXIT } from '../exit.ts';

/** `gatehouse serve`: run the server until SIGTERM/SIGINT, then drain and exit 0. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the authorization server (what `npm start` runs)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel });
      routeLibraryNotices(logger);
      const gatehouse = await startGatehouse(config, logger);
      let signalled = false;
      const stop = (signal: string) => {
        if (signalled) return;
        signalled = true;
        logger.info({ event: 'shutdown', signal }, `received ${signal}, draining`);
        gatehouse.close().then(
          () => logger.flush(() => process.exit(EXIT.ok)),
          (err: unknown) => {
            logger.error({ err: { message: (err as Error).message } }, 'shutdown failed');
            logger.flush(() => process.exit(EXIT.failure));
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('unhandledRejection', (reason) => {
        logger.error({ err: { message: (reason as Error)?.message ?? String(reason) } }, 'unhandled rejection');
      });
    });
}

import { pino } from 'pino';
import { Audit } from '../shared/audit.ts';
import { createLogger } from '../shared/logger.ts';

/**
 * The audit trail of an operator command: the same `{"audit":true,"event":...}` JSON line the
 * server writes, on stderr (stdout carries the command's output), written synchronously so it is
 * out before the process exits. Log collectors that gather the server's lines can gather these.
 */
export function cliAudit(): Audit {
  return new Audit(createLogger({ level: 'info', destination: pino.destination({ fd: 2, sync: true }) }));
}

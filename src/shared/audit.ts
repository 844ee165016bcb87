import { EventEmitter } from 'node:events';
import { requestContext, type Logger } from './logger.ts';

/** Security-relevant actions, one structured log event each. */
export type AuditEvent =
  | 'signin.success'
  | 'signin.failure'
  | 'mfa.success'
  | 'mfa.failure'
  | 'consent.granted'
  | 'device.approved'
  | 'device.denied'
  | 'token.issued'
  | 'token.refreshed'
  | 'token.revoked'
  | 'client.registered'
  | 'client.updated'
  | 'client.deleted'
  | 'registration_token.created'
  | 'keys.rotated'
  | 'account.source_refused';

/** What an audit event may carry: identifiers only, never secrets, tokens or passwords. */
export interface AuditFields {
  client_id?: string;
  sub?: string;
  username?: string;
  grant_type?: string;
  reason?: string;
  [key: string]: string | number | boolean | string[] | undefined;
}

/**
 * Writes `{"audit":true,"event":...,"ip":...,"reqId":...}` and tells subscribers (metrics). Inside a
 * request the event joins that request's one log line (request and audit fields describe one
 * event); outside one (CLI, key rotation) it is a line of its own.
 */
export class Audit extends EventEmitter<{ event: [AuditEvent, AuditFields] }> {
  #logger: Logger;

  constructor(logger: Logger) {
    super();
    this.#logger = logger;
  }

  record(event: AuditEvent, fields: AuditFields = {}): void {
    const context = requestContext.getStore();
    const ip = context?.ip;
    const line = { audit: true, event, ...(ip ? { ip } : {}), ...fields };
    if (context?.audit) context.audit.push(line);
    else this.#logger.info(line, `audit ${event}`);
    this.emit('event', event, fields);
  }
}

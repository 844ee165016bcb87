import type { Context } from 'koa';

/**
 * What the device flow keeps in koa's `ctx.state` for the rest of one request: the user code
 * from a verification_uri_complete link, carried from the guard to the entry page (which only
 * shows the confirmation page for a live code, or pre-fills the form; RFC 8628 §5.4).
 */
export interface DeviceFlowState {
  deviceFlowPrefill?: string;
}

/** The device flow's typed view of `ctx.state`. */
export function deviceFlowState(ctx: Pick<Context, 'state'>): DeviceFlowState {
  return ctx.state as DeviceFlowState;
}

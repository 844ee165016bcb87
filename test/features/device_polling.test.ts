import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Context, Next } from 'koa';
import { announceInterval, pacePolls } from '../../src/features/device_flow/polling.ts';
import { DEVICE_CODE_GRANT } from '../../src/shared/grant_types.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

// The pace middleware reads only what oidc-provider leaves on the koa context (ctx.oidc and the
// answer), so these tests give it that and nothing else; the e2e tests run it in the server.

const DEVICE_CODE = 'device-code-of-the-test';

function deviceContext(path: string, oidc: Record<string, unknown>): Context {
  return { method: 'POST', path, status: 404, body: undefined, oidc: { client: { clientId: 'cli' }, provider: { emit() {} }, ...oidc } } as unknown as Context;
}

describe('device poll pacing', () => {
  test("a poll's time is its arrival: oidc-provider's own processing time is not counted against the client", async () => {
    let clock = 1_000_000;
    const options = { store: new MemoryStore(), interval: 5, deviceCodeTtl: 600, now: () => clock };
    const announce = announceInterval(options);
    const start = deviceContext('/device/auth', { route: 'device_authorization' });
    await announce(start, (async () => {
      start.status = 200;
      start.body = { device_code: DEVICE_CODE };
    }) as Next);

    const pace = pacePolls(options);
    /** One poll; oidc-provider takes `processingMs` to answer authorization_pending. */
    const poll = async (processingMs: number) => {
      const ctx = deviceContext('/token', { route: 'token', params: { grant_type: DEVICE_CODE_GRANT, device_code: DEVICE_CODE } });
      await pace(ctx, (async () => {
        clock += processingMs;
        ctx.status = 400;
        ctx.body = { error: 'authorization_pending' };
      }) as Next);
      return (ctx.body as { error: string }).error;
    };

    // The first poll arrives at 0 s and takes 3 s to answer (a server under load).
    assert.equal(await poll(3000), 'authorization_pending');
    // The client sends the next one 5 s after the first was sent: on time, though only 2 s after
    // the first one's answer.
    clock += 2000;
    assert.equal(await poll(0), 'authorization_pending');
    // 1 s later: too soon.
    clock += 1000;
    assert.equal(await poll(0), 'slow_down');
  });
});

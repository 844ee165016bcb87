import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, redactSecrets, requestContext } from '../../src/shared/logger.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('log redaction', () => {
  it('blanks secrets at the top level, nested and in arrays, and keeps everything else', () => {
    const { lines, logger } = capture();
    const input = {
      token: 'tok-1',
      client_id: 'app',
      req: { headers: { authorization: 'Basic c2VjcmV0', cookie: 'a=b', 'set-cookie': ['x=y'], accept: 'json' } },
      deep: { a: { b: { c: { client_secret: 's3', password: 'pw', keep: 1 } } } },
      list: [{ access_token: 'at', refresh_token: 'rt', id_token: 'it' }, 'plain'],
      registration_access_token: 'reg-tok-9',
      code_verifier: 'cv',
      privateKey: 'pk',
    };
    logger.info(input, 'hello');
    const line = lines[0]!;
    const text = JSON.stringify(line);
    for (const secret of ['tok-1', 'c2VjcmV0', 'a=b', 'x=y', 's3', '"pw"', '"at"', '"rt"', '"it"', 'reg-tok-9', '"cv"', '"pk"']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.equal(line.token, '[redacted]');
    assert.equal(line.client_id, 'app');
    assert.equal((line.req as { headers: Record<string, unknown> }).headers.accept, 'json');
    assert.equal((line.deep as { a: { b: { c: { keep: number } } } }).a.b.c.keep, 1);
    assert.equal((line.list as unknown[])[1], 'plain');
    assert.equal(line.msg, 'hello');
    // The caller's object is not changed.
    assert.equal(input.token, 'tok-1');
    assert.equal(input.req.headers.authorization, 'Basic c2VjcmV0');
  });

  it('returns the same object when there is nothing to blank (no copy per log line)', () => {
    const obj = { req: { method: 'POST', path: '/token' }, res: { status: 200 }, ms: 1.2 };
    assert.equal(redactSecrets(obj), obj);
  });

  it('still adds the request id of the current request', () => {
    const { lines, logger } = capture();
    requestContext.run({ reqId: 'r-1' }, () => logger.info({ event: 'x' }, 'in request'));
    assert.equal(lines[0]!.reqId, 'r-1');
  });
});

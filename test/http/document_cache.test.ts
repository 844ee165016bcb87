import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import Provider from 'oidc-provider';
import { documentPaths } from '../../src/http/app.ts';
import { documentCache } from '../../src/http/document_cache.ts';
import { isJson } from '../../src/http/content_type.ts';

let url: string;
let calls = 0;
let server: ReturnType<Koa['listen']>;

before(async () => {
  const app = new Koa();
  app.use(documentCache(['/doc', '/page']));
  app.use((ctx) => {
    calls++;
    if (ctx.path === '/page') {
      ctx.type = 'text/html';
      ctx.body = '<p>page</p>';
      return;
    }
    ctx.set('Vary', 'Origin');
    ctx.body = { n: calls, origin: ctx.get('origin') || null };
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe('documentCache', () => {
  it('answers later plain GETs from the first answer, without running what is behind it', async () => {
    const first = await (await fetch(`${url}/doc`)).json();
    const before = calls;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/doc`);
      assert.equal(res.headers.get('vary'), 'Origin');
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(await res.json(), first);
    }
    assert.equal(calls, before, 'served from the cache');
  });
  it('runs the handler for anything that could get another answer: Origin, conditional, query, other methods, other paths, non-JSON', async () => {
    await fetch(`${url}/doc`);
    const before = calls;
    assert.equal(((await (await fetch(`${url}/doc`, { headers: { origin: 'https://a.example' } })).json()) as { origin: string }).origin, 'https://a.example');
    await fetch(`${url}/doc`, { headers: { 'if-none-match': '"x"' } });
    await fetch(`${url}/doc?x=1`);
    await fetch(`${url}/doc`, { method: 'POST' });
    await fetch(`${url}/other`);
    await fetch(`${url}/page`);
    await fetch(`${url}/page`);
    assert.equal(calls, before + 7);
  });
  it('covers both discovery documents and the JWKS of a real provider: each path is a JSON document it serves, which the cache keeps', async () => {
    const provider = new Provider('https://issuer.example', {});
    const paths = documentPaths(provider);
    assert.deepEqual([...paths].sort(), ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/jwks']);
    const real = provider.listen(0, '127.0.0.1');
    try {
      await new Promise((r) => real.once('listening', r));
      const base = `http://127.0.0.1:${(real.address() as AddressInfo).port}`;
      for (const path of paths) {
        const res = await fetch(`${base}${path}`);
        assert.equal(res.status, 200, path);
        assert.ok(isJson(res.headers.get('content-type')), `${path}: ${res.headers.get('content-type')} (the cache keeps JSON only)`);
        await res.arrayBuffer();
      }
    } finally {
      real.close();
    }
  });
});

import { BlockList, isIP } from 'node:net';
import type { Context, Next } from 'koa';
import type { Logger } from '../shared/logger.ts';
import { listenerOf } from './listeners.ts';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', 'x-real-ip'];

/** Longest textual address worth a look (IPv6 with an embedded IPv4 is 45; a zone id adds a little). */
const MAX_ADDRESS_LENGTH = 64;
/**
 * How many X-Forwarded-For entries are examined from the right: a real chain of proxies is short,
 * and a client may send thousands of entries that look like trusted proxies.
 */
const MAX_HOPS = 16;

/** Parses `GATEHOUSE_TRUSTED_PROXIES` entries (addresses or CIDRs) into a BlockList. */
export function trustedProxyList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

/** Whether a socket address is in the list; IPv4-mapped IPv6 addresses count as IPv4. */
export function isTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIP(v4) === 4 ? list.check(v4, 'ipv4') : list.check(address, 'ipv6');
}

/**
 * An X-Forwarded-For entry without the port some proxies add (Azure Application Gateway):
 * `1.2.3.4:5678` → `1.2.3.4`, `[2001:db8::1]:443` or `[2001:db8::1]` → `2001:db8::1`. A bare IPv6
 * address (several colons), or anything after the colon that is not a port, is left as it is.
 */
function withoutPort(entry: string): string {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    return close !== -1 && (close === entry.length - 1 || PORT.test(entry.slice(close + 1))) ? entry.slice(1, close) : entry;
  }
  const colon = entry.indexOf(':');
  return colon !== -1 && colon === entry.lastIndexOf(':') && PORT.test(entry.slice(colon)) ? entry.slice(0, colon) : entry;
}
const PORT = /^:\d{1,5}$/;

/**
 * The client as the trusted proxies saw it: X-Forwarded-For walked from the right (each proxy
 * appends the address it received the request from, so only the entries it added can be believed),
 * skipping entries that are themselves trusted proxies when there is a list (`proxies`), else simply
 * the rightmost entry (a port after it dropped). Undefined when that entry is not an IP address, or
 * the last MAX_HOPS entries are all proxies.
 * Entries further left were written by the client and are never read.
 */
export function forwardedClient(value: string, proxies: BlockList | undefined): string | undefined {
  let end = value.length;
  for (let hop = 0; hop < MAX_HOPS && end >= 0; hop++) {
    const comma = value.lastIndexOf(',', end - 1);
    const entry = withoutPort(value.slice(comma + 1, end).trim());
    if (entry.length > MAX_ADDRESS_LENGTH || isIP(entry) === 0) return undefined;
    if (!proxies || !isTrusted(proxies, entry)) return entry;
    end = comma;
  }
  return undefined;
}

/**
 * Forwarded headers are believed only from configured proxies (GATEHOUSE_TRUSTED_PROXIES; any peer
 * when that list is empty) and never on the mTLS listener, which no proxy can add headers to (TLS
 * passes through): from anyone else they are deleted before koa or oidc-provider sees them.
 * `X-Forwarded-Host` is always deleted: URLs come from the issuer, never from the request.
 *
 * When believed, `X-Forwarded-For` is rewritten to the one address koa's `ctx.ip` then returns:
 * walking the list from the right, the first entry that is not itself a trusted proxy (with no list,
 * the rightmost entry: the address the one proxy in front saw). The entries to its left are the
 * client's own words (nginx `$proxy_add_x_forwarded_for`, Envoy and AWS ALB append to what the
 * client sent). If that entry is not an IP address the header is deleted and `ctx.ip` is the socket
 * peer, the proxy. Nothing else reads a client address from a header: koa reads only
 * X-Forwarded-For (`proxyIpHeader`), oidc-provider only `ctx.ip`; `Forwarded` and `X-Real-IP` are
 * read by no one.
 */
export function forwardedHeaderPolicy(options: { trustProxy: boolean; trustedProxies: string[]; logger: Logger }) {
  const list = trustedProxyList(options.trustedProxies);
  const anyProxy = options.trustProxy && options.trustedProxies.length === 0;
  const proxies = anyProxy ? undefined : list;
  return function forwarded(ctx: Context, next: Next): Promise<void> {
    const trusted = options.trustProxy && listenerOf(ctx.req) !== 'mtls' && (anyProxy || isTrusted(list, ctx.req.socket.remoteAddress));
    const headers = ctx.req.headers;
    delete headers['x-forwarded-host'];
    if (!trusted) {
      const dropped = FORWARDED.filter((h) => h in headers);
      for (const h of dropped) delete headers[h];
      if (dropped.length && options.trustProxy) {
        options.logger.warn({ remote: ctx.req.socket.remoteAddress, listener: listenerOf(ctx.req), headers: dropped }, 'forwarded headers not from a trusted proxy ignored');
      }
    } else {
      const chain = headers['x-forwarded-for'];
      if (chain !== undefined) {
        const client = typeof chain === 'string' ? forwardedClient(chain, proxies) : undefined;
        if (client === undefined) delete headers['x-forwarded-for'];
        else if (client !== chain) headers['x-forwarded-for'] = client;
      }
    }
    return next();
  };
}

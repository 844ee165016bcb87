import { BlockList, isIP } from 'node:net';
import type { Context, Next } from 'koa';
import type { Logger } from '../shared/logger.ts';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', 'x-real-ip'];

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
 * Forwarded headers are believed only from configured proxies: from anyone else they are deleted
 * before koa or oidc-provider sees them. `X-Forwarded-Host` is always deleted: URLs come from the
 * issuer, never from the request.
 */
export function forwardedHeaderPolicy(options: { trustProxy: boolean; trustedProxies: string[]; logger: Logger }) {
  const list = trustedProxyList(options.trustedProxies);
  const anyProxy = options.trustProxy && options.trustedProxies.length === 0;
  return function forwarded(ctx: Context, next: Next): Promise<void> {
    const trusted = options.trustProxy && (anyProxy || isTrusted(list, ctx.req.socket.remoteAddress));
    const headers = ctx.req.headers;
    delete headers['x-forwarded-host'];
    if (!trusted) {
      const dropped = FORWARDED.filter((h) => h in headers);
      for (const h of dropped) delete headers[h];
      if (dropped.length && options.trustProxy) {
        options.logger.warn({ remote: ctx.req.socket.remoteAddress, headers: dropped }, 'forwarded headers from an untrusted address ignored');
      }
    }
    return next();
  };
}

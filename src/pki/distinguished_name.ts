/**
 * RFC 4514 distinguished names reduced to a canonical form so a registered
 * `tls_client_auth_subject_dn` can be compared with a certificate's subject whatever the spacing,
 * attribute-type case, escaping or ordering inside a multi-valued RDN.
 * @see RFC 8705 §2.1.2, RFC 4514 §3, RFC 4518 (caseIgnoreMatch, approximated)
 */

/** Attribute type names of RFC 4514 §3 plus the common extras, by OID. */
const OIDS: Record<string, string> = {
  CN: '2.5.4.3',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
  STREET: '2.5.4.9',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  SERIALNUMBER: '2.5.4.5',
  E: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
  G: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  I: '2.5.4.43',
  INITIALS: '2.5.4.43',
  SN: '2.5.4.4',
  SURNAME: '2.5.4.4',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
};

/** One RDN: its attributes as `oid=value`, sorted. A DN is the RDNs most-significant first. */
export type CanonicalDn = string[][];

function typeOid(type: string): string | undefined {
  const t = type.trim();
  if (/^\d+(\.\d+)+$/.test(t)) return t;
  if (/^oid\.\d+(\.\d+)+$/i.test(t)) return t.slice(4);
  return OIDS[t.toUpperCase()];
}

function normaliseValue(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function canonical(rdns: Array<Array<[string, string]>>): CanonicalDn {
  return rdns.map((rdn) => rdn.map(([oid, value]) => `${oid}=${normaliseValue(value)}`).sort());
}

/**
 * Parses an RFC 4514 string (`CN=svc, O=Acme\, Inc`) into canonical form, or undefined when it is
 * not a valid DN. RFC 4514 strings list the most specific RDN first.
 */
export function parseDnString(dn: string): CanonicalDn | undefined {
  const rdns: Array<Array<[string, string]>> = [];
  let rdn: Array<[string, string]> = [];
  let i = 0;
  const s = dn.trim();
  if (!s || s.length > 4096) return undefined;
  while (i <= s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) return undefined;
    const oid = typeOid(s.slice(i, eq));
    if (!oid) return undefined;
    i = eq + 1;
    while (s[i] === ' ') i++;
    let value = '';
    if (s[i] === '#') {
      // Hex-encoded BER value: compared as its hex text, which is how certificates show unknown types.
      const m = /^#[0-9a-fA-F]+/.exec(s.slice(i));
      if (!m) return undefined;
      value = m[0].toLowerCase();
      i += m[0].length;
    } else if (s[i] === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) return undefined;
      value = s.slice(i + 1, end);
      i = end + 1;
    } else {
      const bytes: number[] = [];
      const flush = () => {
        if (bytes.length) value += Buffer.from(bytes).toString('utf8');
        bytes.length = 0;
      };
      while (i < s.length && s[i] !== ',' && s[i] !== '+' && s[i] !== ';') {
        if (s[i] === '\\') {
          const hex = /^[0-9a-fA-F]{2}/.exec(s.slice(i + 1));
          if (hex) {
            bytes.push(Number.parseInt(hex[0], 16));
            i += 3;
            continue;
          }
          if (i + 1 >= s.length) return undefined;
          flush();
          value += s[i + 1];
          i += 2;
          continue;
        }
        flush();
        value += s[i];
        i++;
      }
      flush();
    }
    while (s[i] === ' ') i++;
    rdn.push([oid, value]);
    if (i >= s.length) {
      rdns.push(rdn);
      break;
    }
    const sep = s[i];
    i++;
    while (s[i] === ' ') i++;
    if (sep === ',' || sep === ';') {
      rdns.push(rdn);
      rdn = [];
    } else if (sep !== '+') {
      return undefined;
    }
    if (i >= s.length) return undefined;
  }
  return canonical(rdns);
}

/**
 * Canonical form of a certificate name given as @peculiar/x509 `Name.toJSON()` (ASN.1 order,
 * least specific RDN first), reversed to RFC 4514 order.
 */
export function canonicalFromJson(json: Array<Record<string, string[]>>): CanonicalDn | undefined {
  const rdns: Array<Array<[string, string]>> = [];
  for (const rdn of [...json].reverse()) {
    const attrs: Array<[string, string]> = [];
    for (const [type, values] of Object.entries(rdn)) {
      const oid = typeOid(type);
      if (!oid) return undefined;
      for (const v of values) attrs.push([oid, v]);
    }
    rdns.push(attrs);
  }
  return canonical(rdns);
}

/** Whether two canonical names are the same DN. */
export function sameDn(a: CanonicalDn, b: CanonicalDn): boolean {
  return a.length === b.length && a.every((rdn, i) => {
    const other = b[i]!;
    return rdn.length === other.length && rdn.every((attr, j) => attr === other[j]);
  });
}

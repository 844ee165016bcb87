/** File names in the certs directory; the mTLS listener reads the first three. */
export const PKI_FILES = {
  serverCert: 'server.crt',
  serverKey: 'server.key',
  rootCa: 'root_ca.crt',
  rootCaKey: 'root_ca.key',
} as const;

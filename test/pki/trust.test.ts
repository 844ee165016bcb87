import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyClientCertificate } from '../../src/pki/chain.ts';
import { presentedCertificate } from '../../src/pki/presented_certificate.ts';
import { ClientCaTrust, NO_TRUST, trustSnapshot, trustSnapshotFromPem } from '../../src/pki/trust.ts';
import { make, root } from './chain_factory.ts';

// One immutable snapshot of the trusted CAs, swapped whole on reload: a check holds on to the
// snapshot it started with, and nobody can change the anchors underneath it.
describe('trust snapshots', () => {
  it('are frozen copies: changing the array they were made from, or them, changes nothing', async () => {
    const ca = await root('Snapshot Root');
    const anchors = [ca.cert];
    const snapshot = trustSnapshot(anchors);
    anchors.pop();
    assert.equal(snapshot.anchors.length, 1);
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.anchors));
    assert.throws(() => (snapshot.anchors as unknown as unknown[]).push(ca.cert), TypeError);
  });

  it('a swap applies to the next check; the snapshot read before keeps judging with the old anchors', async () => {
    const first = await root('First Root');
    const second = await root('Second Root');
    const leaf = presentedCertificate([(await make('svc', second)).cert], 'tls')!;
    const trust = new ClientCaTrust(trustSnapshot([first.cert]));
    const before = trust.current;
    assert.equal(verifyClientCertificate(leaf, trust.current).ok, false);
    trust.swap(trustSnapshot([second.cert]));
    assert.equal(verifyClientCertificate(leaf, trust.current).ok, true);
    assert.equal(verifyClientCertificate(leaf, before).ok, false);
    assert.equal(new ClientCaTrust().current, NO_TRUST);
  });

  it('from a PEM bundle: every certificate, or an error naming the file', async () => {
    const a = await root('A');
    const b = await root('B');
    assert.equal(trustSnapshotFromPem(`${a.cert.toString()}\n${b.cert.toString()}`, 'ca.pem').anchors.length, 2);
    assert.throws(() => trustSnapshotFromPem('not a certificate', '/etc/gatehouse/ca.pem'), /\/etc\/gatehouse\/ca\.pem holds no PEM certificate/);
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.ts';
import { ciValuesFiles, render, type K8sObject } from './chart.ts';
import { schemaProblems, strictFieldProblems } from './k8s_schema.ts';

// Inside the repository (gitignored test-artifacts/) so the compiler resolves kubernetes-models.
let work: string;
before(() => {
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  work = mkdtempSync(join(ROOT, 'test-artifacts', 'k8s-schema-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('every rendered object validates against the Kubernetes API schemas (offline)', () => {
  for (const file of ciValuesFiles()) {
    it(`${file}: OpenAPI schema of each object's apiVersion/kind`, async () => {
      const objects = render([file]);
      assert.ok(objects.length >= 6, `rendered only ${objects.length} objects`);
      const problems = (await Promise.all(objects.map(schemaProblems))).flat();
      assert.deepEqual(problems, []);
    });

    it(`${file}: no unknown or mistyped field anywhere (strict)`, async () => {
      const dir = join(work, file.replace(/\W+/g, '_'));
      mkdirSync(dir);
      assert.deepEqual(await strictFieldProblems(render([file]), dir), []);
    });
  }

  it('the checks catch broken objects: wrong types, missing fields, unknown kinds and misspelt fields', async () => {
    const [deployment] = render(['ci/defaults-values.yaml']).filter((o) => o.kind === 'Deployment');
    assert.ok(deployment);
    const broken: K8sObject = structuredClone(deployment);
    broken.spec.replicas = 'three';
    delete broken.spec.selector;
    const problems = await schemaProblems(broken);
    assert.ok(problems.some((p) => p.includes('/spec/replicas') && p.includes('integer')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('selector')), problems.join('\n'));
    assert.match((await schemaProblems({ ...deployment, kind: 'Deploymnet' }))[0] ?? '', /not a known Kubernetes API type/);

    const misspelt: K8sObject = structuredClone(deployment);
    misspelt.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    const dir = join(work, 'misspelt');
    mkdirSync(dir);
    const strict = await strictFieldProblems([misspelt], dir);
    assert.equal(strict.length, 1, strict.join('\n'));
    assert.match(strict[0]!, /^Deployment\/gh-gatehouse: .*readOnlyRootFileSystem/);
  });
});

// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createMemoryRegistry } from './memory-registry.js';
import { adminSpec, sampleVendor } from './registry-fixtures.js';

describe('memory registry', () => {
  it('serves live use cases and vendors with schema defaults applied', async () => {
    const registry = createMemoryRegistry({ vendors: [sampleVendor()], useCases: [{ id: 'pa-letters', spec: adminSpec() }] });
    const snap = await registry.snapshot();
    expect(snap.revision).toBe(1);
    expect(snap.vendor('acme-ai')?.baa.coveredServices).toEqual(['acme-chat']);
    expect(snap.vendors()).toHaveLength(1);
    expect(snap.useCaseState('pa-letters')).toBe('live');
    expect(snap.liveUseCase('pa-letters')?.spec.data.freeText).toBe(true);
    expect(snap.liveUseCase('nope')).toBeUndefined();
  });

  it('bumps the revision on every change; an older snapshot is unchanged', async () => {
    const registry = createMemoryRegistry({ vendors: [sampleVendor()], useCases: [{ id: 'pa-letters', spec: adminSpec() }] });
    const before = await registry.snapshot();
    registry.setUseCaseState('pa-letters', 'suspended');
    registry.setVendor(sampleVendor({ baa: { status: 'terminated' } }));
    const after = await registry.snapshot();
    expect(after.revision).toBe(3);
    expect(after.liveUseCase('pa-letters')).toBeUndefined();
    expect(after.useCaseState('pa-letters')).toBe('suspended');
    expect(after.vendor('acme-ai')?.baa.status).toBe('terminated');
    expect(before.liveUseCase('pa-letters')?.version).toBe(1);
    expect(before.vendor('acme-ai')?.baa.status).toBe('signed');
    expect(registry.snapshots).toBe(2);
  });

  it('refuses invalid records and unknown ids', () => {
    const registry = createMemoryRegistry();
    expect(() => registry.setUseCase({ id: 'x', spec: { name: 'x' } })).toThrow();
    expect(() => registry.setUseCaseState('x', 'live')).toThrow();
    registry.setUseCase({ id: 'x', spec: adminSpec(), state: 'draft', version: 2 });
    registry.removeUseCase('x');
    expect(registry.revision).toBe(3);
  });
});

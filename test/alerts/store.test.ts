import { describe, expect, it } from 'vitest';
import { AlertStore } from '../../src/alerts/store.js';
import type { AlertRecord } from '../../src/alerts/types.js';

const alert = (id: string, state: AlertRecord['state'], rule = 'r', asset = 'P-01'): AlertRecord =>
  ({ id, rule, site: 's1', asset, state, raisedAt: 1 }) as AlertRecord;

describe('AlertStore', () => {
  it('finds the active alert of a rule on an asset as its records are replaced, deleted and cleared', () => {
    const store = new AlertStore();
    store.set('A1', alert('A1', 'active_unack'));
    expect(store.activeFor('r', 's1', 'P-01')?.id).toBe('A1');
    expect(store.activeFor('r', 's1', 'P-02')).toBeUndefined();
    store.set('A1', alert('A1', 'cleared_unack'));
    expect(store.activeFor('r', 's1', 'P-01')).toBeUndefined();
    store.set('A2', alert('A2', 'active_ack'));
    expect(store.activeFor('r', 's1', 'P-01')?.id).toBe('A2');
    store.delete('A1');
    expect(store.activeFor('r', 's1', 'P-01')?.id).toBe('A2');
    store.delete('A2');
    expect(store.activeFor('r', 's1', 'P-01')).toBeUndefined();
    store.set('A3', alert('A3', 'active_unack'));
    store.clear();
    expect(store.activeFor('r', 's1', 'P-01')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('counts the closed alerts it keeps', () => {
    const store = new AlertStore();
    store.set('A1', alert('A1', 'active_unack'));
    store.set('A2', alert('A2', 'cleared'));
    store.set('A3', alert('A3', 'cleared_unack'));
    expect(store.closedCount).toBe(1);
    store.set('A3', alert('A3', 'cleared'));
    store.set('A1', alert('A1', 'cleared'));
    expect(store.closedCount).toBe(3);
    store.delete('A2');
    expect(store.closedCount).toBe(2);
    store.clear();
    expect(store.closedCount).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { evacuatesByMigration } from './evacuation.ts';

describe('evacuation', () => {
  it('migrates LiveMigrate instances, and LiveMigrateIfPossible ones that can migrate', () => {
    expect(evacuatesByMigration('LiveMigrate', false)).toBe(true);
    expect(evacuatesByMigration('LiveMigrateIfPossible', true)).toBe(true);
    expect(evacuatesByMigration('LiveMigrateIfPossible', false)).toBe(false);
    expect(evacuatesByMigration('None', true)).toBe(false);
    expect(evacuatesByMigration(undefined, true)).toBe(false);
  });
});

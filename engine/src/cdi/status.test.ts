import { describe, expect, it } from 'vitest';
import { ANN } from './annotations.ts';
import { dataVolumeStatus, progressText, type ClaimView, type DvFacts } from './status.ts';

const now = '2025-01-01T00:00:00Z';
const facts = (pvc?: ClaimView, extra: Partial<DvFacts> = {}): DvFacts => ({
  name: 'd',
  namespace: 'ns',
  status: {},
  op: 'import',
  wffc: false,
  now,
  ...(pvc ? { pvc } : {}),
  ...extra,
});
const claim = (phase: string, ann: Record<string, string> = {}): ClaimView => ({
  metadata: { name: 'd', annotations: ann },
  status: { phase },
});
const cond = (s: ReturnType<typeof dataVolumeStatus>, t: string): object | undefined =>
  s.status.conditions?.find((c) => c.type === t);

describe('dataVolumeStatus (CDI controller-base.go updateStatus)', () => {
  it('is Pending with no claim, Bound False NotFound', () => {
    const s = dataVolumeStatus(facts());
    expect(s.status.phase).toBe('Pending');
    expect(cond(s, 'Bound')).toMatchObject({
      status: 'False',
      reason: 'NotFound',
      message: 'No PVC found',
    });
  });

  it('waits for the first consumer on a WFFC class until a node is selected', () => {
    expect(dataVolumeStatus(facts(claim('Pending'), { wffc: true })).status.phase).toBe(
      'WaitForFirstConsumer',
    );
    const selected = claim('Pending', { [ANN.selectedNode]: 'n' });
    expect(dataVolumeStatus(facts(selected, { wffc: true })).status.phase).toBe('Pending');
  });

  it('follows the importer: scheduled, in progress with progress, succeeded', () => {
    const sched = dataVolumeStatus(
      facts(claim('Bound', { [ANN.importPod]: 'importer-d', [ANN.podPhase]: 'Pending' })),
    );
    expect(sched.status.phase).toBe('ImportScheduled');
    const running = dataVolumeStatus(
      facts(
        claim('Bound', {
          [ANN.importPod]: 'i',
          [ANN.podPhase]: 'Running',
          [ANN.running]: 'true',
          [ANN.runningReason]: 'Pod is running',
        }),
        { progress: '37.21%', status: { phase: 'ImportScheduled' } },
      ),
    );
    expect(running.status).toMatchObject({ phase: 'ImportInProgress', progress: '37.21%' });
    expect(cond(running, 'Running')).toMatchObject({ status: 'True' });
    expect(cond(running, 'Ready')).toMatchObject({ status: 'False', reason: 'TransferRunning' });
    expect(running.events.map((e) => e.reason)).toEqual(['ImportInProgress', 'Bound']);
    const done = dataVolumeStatus(
      facts(
        claim('Bound', {
          [ANN.importPod]: 'i',
          [ANN.podPhase]: 'Succeeded',
          [ANN.running]: 'false',
          [ANN.runningReason]: 'Completed',
          [ANN.runningMessage]: 'Import Complete',
        }),
        {
          status: running.status,
        },
      ),
    );
    expect(done.status).toMatchObject({ phase: 'Succeeded', progress: '100.0%' });
    expect(cond(done, 'Ready')).toMatchObject({ status: 'True' });
    expect(done.events).toEqual([
      { type: 'Normal', reason: 'ImportSucceeded', message: 'Successfully imported into PVC d' },
    ]);
  });

  it('keeps a retried failure in progress with Running False Error, and fails a fatal one', () => {
    const failing = dataVolumeStatus(
      facts(
        claim('Bound', {
          [ANN.importPod]: 'i',
          [ANN.podPhase]: 'Running',
          [ANN.podRestarts]: '2',
          [ANN.running]: 'false',
          [ANN.runningReason]: 'Error',
          [ANN.runningMessage]: 'boom',
        }),
      ),
    );
    expect(failing.status).toMatchObject({ phase: 'ImportInProgress', restartCount: 2 });
    expect(cond(failing, 'Running')).toMatchObject({
      status: 'False',
      reason: 'Error',
      message: 'boom',
    });
    expect(failing.events).toContainEqual({ type: 'Warning', reason: 'Error', message: 'boom' });
    const fatal = dataVolumeStatus(
      facts(
        claim('Bound', {
          [ANN.importPod]: 'i',
          [ANN.podPhase]: 'Failed',
          [ANN.importFatalError]: 'true',
          [ANN.running]: 'false',
          [ANN.runningReason]: 'ChecksumError',
          [ANN.runningMessage]: 'x',
        }),
      ),
    );
    expect(fatal.status.phase).toBe('Failed');
    expect(fatal.events[0]).toMatchObject({
      reason: 'ImportFailed',
      message: 'Failed to import into PVC d',
    });
  });

  it('clones through CloneScheduled and CloneInProgress with CDI’s words', () => {
    const f = (ann: Record<string, string>): DvFacts =>
      facts(claim('Bound', { [ANN.cloneRequest]: 'ns/src', ...ann }), {
        op: 'clone',
        cloneSource: { namespace: 'ns', name: 'src' },
      });
    expect(dataVolumeStatus(f({})).status.phase).toBe('CloneScheduled');
    const inProgress = dataVolumeStatus(f({ [ANN.podPhase]: 'Running' }));
    expect(inProgress.status.phase).toBe('CloneInProgress');
    expect(inProgress.events[0]?.message).toBe('Cloning from ns/src into ns/d in progress');
    expect(dataVolumeStatus(f({ [ANN.podPhase]: 'Succeeded' })).events[0]?.reason).toBe(
      'CloneSucceeded',
    );
  });

  it('keeps a condition’s transition time while its status holds', () => {
    const first = dataVolumeStatus(facts(claim('Pending')));
    const later = dataVolumeStatus({
      ...facts(claim('Pending')),
      status: first.status,
      now: '2025-01-01T00:01:00Z',
    });
    expect(cond(later, 'Bound')).toMatchObject({ lastTransitionTime: now });
    expect(later.events).toEqual([]);
  });

  it('formats progress as CDI does', () => {
    expect(progressText(3721, 10000)).toBe('37.21%');
  });
});

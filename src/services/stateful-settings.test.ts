import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describedSequenceFields, sequenceSettings } from './stateful-settings.js';

const EXAMPLE = { sequenceBatching: true, maxNumSequence: 4, sequenceMaxIdleMSec: 5000, sequenceTimeoutMSec: 60000, maxSequenceJobQueueSize: 10 };

describe('Stateful settings from model-config.yaml', () => {
  it('describe reports the yaml values when sequenceMaxIdleMSec > 0, as TorchServe computes them', () => {
    assert.deepEqual(describedSequenceFields(EXAMPLE), {
      stateful: true,
      sequenceMaxIdleMSec: 5000,
      sequenceTimeoutMSec: 60000,
      maxNumSequence: 4,
      maxSequenceJobQueueSize: 10,
    });
  });

  it('describe reports 0 for all four when sequenceMaxIdleMSec is 0 or absent', () => {
    const zero = { stateful: true, sequenceMaxIdleMSec: 0, sequenceTimeoutMSec: 0, maxNumSequence: 0, maxSequenceJobQueueSize: 0 };
    assert.deepEqual(describedSequenceFields({ ...EXAMPLE, sequenceMaxIdleMSec: 0 }), zero);
    assert.deepEqual(describedSequenceFields(null), { ...zero, stateful: false });
  });

  it('gives each worker max(1, maxNumSequence / minWorkers) sequences, and none for a stateless model', () => {
    assert.equal(sequenceSettings(EXAMPLE, 2)?.perWorker, 2);
    assert.equal(sequenceSettings(EXAMPLE, 8)?.perWorker, 1);
    assert.equal(sequenceSettings({ ...EXAMPLE, continuousBatching: true }, 1)?.continuous, true);
    assert.equal(sequenceSettings({ maxNumSequence: 4 }, 1), null);
  });
});

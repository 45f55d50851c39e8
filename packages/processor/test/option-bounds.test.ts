// The one table of numeric option bounds and the words of every option problem.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import {
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_FLUSH_TIMEOUT_MILLIS,
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_MAX_PENDING_USAGE,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
  DEFAULT_TAP_MAX_BUFFER_BYTES,
} from '../src/index.js';
import {
  MAX_TIMER_MILLIS,
  PROCESSOR_OPTION_BOUNDS,
  TAP_OPTION_BOUNDS,
  booleanProblem,
  describeValue,
  integerOrDefault,
  integerProblem,
  integerRange,
  isWithinBounds,
  optionsObjectProblem,
  unknownOptionProblems,
  warnInvalidOptions,
} from '../src/option-bounds.js';
import * as internal from '../src/internal.js';

afterEach(() => diag.disable());

describe('option bounds', () => {
  it('stops every duration at the largest delay a Node timer can wait', () => {
    assert.equal(MAX_TIMER_MILLIS, 2_147_483_647);
    for (const [name, bounds] of Object.entries(PROCESSOR_OPTION_BOUNDS)) {
      assert.equal(bounds.max, name.endsWith('Millis') ? MAX_TIMER_MILLIS : Number.MAX_SAFE_INTEGER, name);
    }
  });

  it('holds the processor defaults the package exports, in the order problems are listed', () => {
    assert.deepEqual(
      Object.entries(PROCESSOR_OPTION_BOUNDS).map(([name, b]) => [name, b.defaultValue, b.min]),
      [
        ['holdMillis', DEFAULT_HOLD_MILLIS, 0],
        ['maxHeldSpans', DEFAULT_MAX_HELD_SPANS, 1],
        ['maxHeldBytes', DEFAULT_MAX_HELD_BYTES, 1],
        ['maxPendingUsage', DEFAULT_MAX_PENDING_USAGE, 1],
        ['maxOpenMillis', DEFAULT_MAX_OPEN_MILLIS, 1],
        ['maxOpenSpans', DEFAULT_MAX_OPEN_SPANS, 1],
        ['maxQueueSize', DEFAULT_MAX_QUEUE_SIZE, 1],
        ['maxExportBatchSize', DEFAULT_MAX_EXPORT_BATCH_SIZE, 1],
        ['scheduledDelayMillis', DEFAULT_SCHEDULED_DELAY_MILLIS, 0],
        ['exportTimeoutMillis', DEFAULT_EXPORT_TIMEOUT_MILLIS, 1],
        ['flushTimeoutMillis', DEFAULT_FLUSH_TIMEOUT_MILLIS, 1],
      ],
    );
  });

  it('bounds the tap buffer from 1 KiB to 1 GiB around its default', () => {
    assert.deepEqual(TAP_OPTION_BOUNDS.maxBufferBytes, {
      defaultValue: DEFAULT_TAP_MAX_BUFFER_BYTES,
      min: 1024,
      max: 2 ** 30,
    });
  });

  it('every default is within its own bounds', () => {
    for (const bounds of [...Object.values(PROCESSOR_OPTION_BOUNDS), ...Object.values(TAP_OPTION_BOUNDS)]) {
      assert.ok(isWithinBounds(bounds.defaultValue, bounds), JSON.stringify(bounds));
    }
  });

  it('cannot be changed at run time', () => {
    assert.ok(Object.isFrozen(PROCESSOR_OPTION_BOUNDS));
    assert.ok(Object.isFrozen(TAP_OPTION_BOUNDS));
  });
});

describe('isWithinBounds / integerOrDefault', () => {
  const bounds = { defaultValue: 7, min: 0, max: 10 };
  it('accepts integers from min to max inclusive', () => {
    for (const v of [0, 5, 10]) {
      assert.equal(isWithinBounds(v, bounds), true, String(v));
      assert.equal(integerOrDefault(v, bounds), v);
    }
  });
  it('rejects everything else, which then gets the default', () => {
    for (const v of [-1, 11, 2.5, NaN, Infinity, '5', null, undefined, true, {}, [5]]) {
      assert.equal(isWithinBounds(v, bounds), false, String(v));
      assert.equal(integerOrDefault(v, bounds), 7);
    }
  });
});

describe('messages', () => {
  it('word a range once, for the processor, the tap and the relay alike', () => {
    assert.equal(integerRange(PROCESSOR_OPTION_BOUNDS.holdMillis), 'an integer from 0 to 2147483647');
    assert.equal(integerRange(PROCESSOR_OPTION_BOUNDS.maxHeldSpans), 'an integer from 1 to 9007199254740991');
  });

  it('name the option and its value', () => {
    assert.equal(
      integerProblem('holdMillis', -1, PROCESSOR_OPTION_BOUNDS.holdMillis),
      'holdMillis must be an integer from 0 to 2147483647, got -1',
    );
    assert.equal(
      integerProblem('maxBufferBytes', '1k', TAP_OPTION_BOUNDS.maxBufferBytes),
      'maxBufferBytes must be an integer from 1024 to 1073741824, got "1k"',
    );
    assert.equal(booleanProblem('includeUsage', 1), 'includeUsage must be a boolean, got 1');
    assert.equal(optionsObjectProblem('x'), 'options must be an object, got "x"');
    assert.deepEqual(unknownOptionProblems({ holdMilis: 1, holdMillis: 2 }, new Set(['holdMillis'])), [
      'unknown option "holdMilis"',
    ]);
  });

  it('say nothing about an unset or valid value', () => {
    assert.equal(integerProblem('holdMillis', undefined, PROCESSOR_OPTION_BOUNDS.holdMillis), undefined);
    assert.equal(integerProblem('holdMillis', 0, PROCESSOR_OPTION_BOUNDS.holdMillis), undefined);
    assert.equal(booleanProblem('includeUsage', undefined), undefined);
    assert.equal(booleanProblem('includeUsage', false), undefined);
    for (const options of [undefined, null, {}]) assert.equal(optionsObjectProblem(options), undefined);
  });

  it('describe a value without dumping it', () => {
    const cases: Array<[unknown, string]> = [
      ['5', '"5"'],
      [2.5, '2.5'],
      [NaN, 'NaN'],
      [true, 'true'],
      [null, 'null'],
      [undefined, 'undefined'],
      [() => 1, 'a function'],
      [[1, 2], 'an array'],
      [{ secret: 'x' }, 'an object'],
      [Symbol('s'), 'symbol'],
      [10n, 'bigint'],
    ];
    for (const [value, shown] of cases) assert.equal(describeValue(value), shown);
  });

  it('warnInvalidOptions reports every problem in one warning, and nothing when there is none', () => {
    const warnings: string[] = [];
    diag.setLogger(
      { warn: (m: string) => warnings.push(m), error() {}, info() {}, debug() {}, verbose() {} },
      DiagLogLevel.WARN,
    );
    warnInvalidOptions('usageTapFetch', []);
    warnInvalidOptions('usageTapFetch', ['a', 'b']);
    assert.deepEqual(warnings, ['usageTapFetch: invalid options, defaults used instead: a; b']);
  });
});

describe('@genai-enrich/processor/internal', () => {
  it('re-exports the bounds for the relay', () => {
    assert.equal(internal.PROCESSOR_OPTION_BOUNDS, PROCESSOR_OPTION_BOUNDS);
    assert.equal(internal.describeValue, describeValue);
    assert.equal(internal.integerRange, integerRange);
    assert.equal(internal.isWithinBounds, isWithinBounds);
  });
});

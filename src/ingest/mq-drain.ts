// aedes routes every message through mqemitter, which delivers at most `concurrency` (100) messages
// at a time and queues the rest. When a delivery ends, mqemitter starts the next queued message from
// inside that delivery's callback, and a message nobody subscribes to (our readings, usually) ends at
// once: a deep queue is drained by recursion, one set of stack frames per message. A slow QoS 1
// subscriber (its socket full, aedes waiting for 'drain') holds 100 deliveries open while readings
// queue behind them; when its socket drains, the queue unwinds recursively and overflows the stack,
// which kills the process (bench/: 20k readings/s, 1 % alerts; test/ingest/embedded-broker-flood).
//
// The fix keeps mqemitter's order and its concurrency bound and only turns the recursion into a
// loop: a message started from inside another start waits until that start returns, then goes.

interface Emitter {
  _do(message: unknown, callback: unknown): unknown;
  _doing?: boolean;
}

/** Makes an mqemitter (or a subclass: mqemitter-redis) drain its queue in a loop. Returns false when it has no `_do` to wrap. */
export function drainWithoutRecursion(mq: unknown): boolean {
  const emitter = mq as Partial<Emitter>;
  const start = emitter._do;
  if (typeof start !== 'function') return false;
  const waiting: Array<[unknown, unknown]> = [];
  let starting = false;
  emitter._do = function (this: Emitter, message: unknown, callback: unknown) {
    if (starting) {
      // Reached from inside a start (a delivery that ended at once): go after it, in order.
      waiting.push([message, callback]);
      this._doing = true;
      return this;
    }
    starting = true;
    try {
      start.call(this, message, callback);
      for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) start.call(this, next[0], next[1]);
    } finally {
      starting = false;
    }
    return this;
  };
  return true;
}

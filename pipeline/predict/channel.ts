// A bounded async queue: one producer (the scoring loop) feeds a consumer (a streaming put)
// with backpressure, so two outputs can be written from one pass over the input.

export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private closed = false;
  private error: unknown;
  private failed = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly capacity: number) {}

  private wake(): void {
    this.wakeConsumer?.();
    this.wakeConsumer = undefined;
    this.wakeProducer?.();
    this.wakeProducer = undefined;
  }

  /** Waits while the queue is full; throws once the channel failed (or its consumer stopped). */
  async push(item: T): Promise<void> {
    while (!this.failed && this.items.length >= this.capacity)
      await new Promise<void>((r) => {
        this.wakeProducer = r;
      });
    if (this.failed) throw this.error;
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** The consumer's iteration throws `error`: a streaming put aborts and leaves no object. */
  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.failed) throw this.error;
        if (this.items.length) {
          const item = this.items.shift()!;
          this.wake();
          yield item;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((r) => {
          this.wakeConsumer = r;
        });
      }
    } finally {
      // A consumer that stops early (its write failed) must not leave the producer waiting.
      if (!this.closed || this.items.length) this.fail(new Error('output stream stopped before the end'));
    }
  }
}

// Stage 4: the spool between acknowledgement and InfluxDB. Lines wait here until InfluxDB has
// confirmed them; past the bound, append() waits, so the broker stops getting acknowledgements.
// This one lives in memory (nothing is lost while the process lives); the interface is what a
// durable on-disk spool implements too.
export interface Spool {
  /** Resolves once the lines are held (waits while the spool is full). */
  append(lines: string[]): Promise<void>;
  /** The oldest lines after the first `skip`, without removing them. */
  peek(max: number, skip?: number): string[];
  /** Removes the oldest `count` lines: InfluxDB has them. */
  commit(count: number): void;
  readonly depth: number;
  readonly limit: number;
  /** False while full: publishes are not acknowledged. */
  readonly acknowledging: boolean;
  /** Called after every append (the writer wakes up on it). */
  onAppend: (() => void) | undefined;
}

export class MemorySpool implements Spool {
  private lines: string[] = [];
  private head = 0;
  private roomWaiters: Array<() => void> = [];
  onAppend: (() => void) | undefined;

  constructor(readonly limit: number) {}

  get depth(): number {
    return this.lines.length - this.head;
  }

  get acknowledging(): boolean {
    return this.depth < this.limit;
  }

  async append(lines: string[]): Promise<void> {
    while (this.depth >= this.limit) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    for (const line of lines) this.lines.push(line);
    this.onAppend?.();
  }

  peek(max: number, skip = 0): string[] {
    return this.lines.slice(this.head + skip, this.head + skip + max);
  }

  commit(count: number): void {
    this.head += Math.min(count, this.depth);
    // Compact now and then so the array does not grow without bound.
    if (this.head > 65_536 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    while (this.roomWaiters.length > 0 && this.depth < this.limit) this.roomWaiters.shift()!();
  }
}

// Batches stdout/stderr writes into few `stream` messages: 5,000 console.log calls become one
// message per flush instead of 5,000 zeromq sends.

export type StreamName = 'stdout' | 'stderr';

const FLUSH_DELAY_MS = 50;

export class StreamBatcher {
  private pending: { name: StreamName; text: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: (name: StreamName, text: string) => Promise<void>) {}

  write(name: StreamName, text: string): void {
    const last = this.pending.at(-1);
    if (last && last.name === name) last.text += text;
    else this.pending.push({ name, text });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Sends everything written so far, keeping stdout/stderr interleaving. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    await Promise.all(batch.map(({ name, text }) => this.emit(name, text)));
  }
}

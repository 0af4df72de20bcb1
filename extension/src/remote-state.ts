import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';

/**
 * A widget's model for data it loads from the Tandem server: the last value, the last error, and
 * `stateChanged`, emitted once per refresh that changed either. A failed refresh keeps the last
 * value (the view goes on showing it, with the error). When refreshes overtake each other (typing
 * in a search box), only the newest one's answer counts.
 */
export abstract class RemoteState<T> implements IDisposable {
  private value_: T;
  private error_: string | undefined;
  private loaded_ = false;
  private latest = 0;
  private disposed = false;
  private readonly stateChanged_ = new Signal<this, void>(this);

  constructor(initial: T) {
    this.value_ = initial;
  }

  get value(): T {
    return this.value_;
  }

  /** The last refresh's error message, undefined once a refresh succeeds. */
  get error(): string | undefined {
    return this.error_;
  }

  /** False until the first refresh has answered (with a value or an error). */
  get loaded(): boolean {
    return this.loaded_;
  }

  get stateChanged(): ISignal<this, void> {
    return this.stateChanged_;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Signal.clearData(this);
  }

  async refresh(): Promise<void> {
    const ticket = ++this.latest;
    let value = this.value_;
    let error: string | undefined;
    try {
      value = await this.fetch();
    } catch (e) {
      error = messageOf(e);
    }
    if (ticket !== this.latest || this.disposed) return;
    const changed = !this.loaded_ || error !== this.error_ || JSON.stringify(value) !== JSON.stringify(this.value_);
    this.loaded_ = true;
    this.value_ = value;
    this.error_ = error;
    if (changed) this.stateChanged_.emit();
  }

  /** Shows an error (of an action on the value) until the next refresh answers. */
  protected fail(error: unknown): void {
    this.error_ = messageOf(error);
    this.stateChanged_.emit();
  }

  /**
   * Replaces the value without a fetch (one row of it was re-read); a refresh in flight still
   * answers afterwards, with data at least as new.
   */
  protected replace(value: T): void {
    if (JSON.stringify(value) === JSON.stringify(this.value_)) return;
    this.value_ = value;
    this.stateChanged_.emit();
  }

  /** Tells the view that a choice kept beside the value (a column, a selection) changed. */
  protected changed(): void {
    this.stateChanged_.emit();
  }

  /** Asks the server for the current value. */
  protected abstract fetch(): Promise<T>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

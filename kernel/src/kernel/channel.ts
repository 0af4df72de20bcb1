// The link between the cell SDK and the running kernel: rich displays and interrupt hooks.
// Outside a kernel (plain Node, tests) displays go nowhere and nothing is interrupted.

export type MimeBundle = Record<string, unknown>;

export interface DisplaySink {
  (bundle: MimeBundle, options: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> }): void;
}

let sink: DisplaySink | undefined;
const interruptHandlers = new Set<() => void>();

export function setDisplaySink(next: DisplaySink | undefined): void {
  sink = next;
}

export function publishDisplay(bundle: MimeBundle, options: Parameters<DisplaySink>[1] = {}): void {
  sink?.(bundle, options);
}

/**
 * Where the cell running now shows its displays, for work that outlives the cell (a job followed
 * in the background): what it publishes later still goes to that cell, not to whichever runs then.
 */
export function currentDisplaySink(): DisplaySink | undefined {
  return sink;
}

/** Registers work to cancel when the user interrupts the kernel; call the result when the work ends. */
export function onInterrupt(handler: () => void): () => void {
  interruptHandlers.add(handler);
  return () => interruptHandlers.delete(handler);
}

export function runInterruptHandlers(): void {
  for (const handler of [...interruptHandlers]) handler();
}

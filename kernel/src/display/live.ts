// A display that changes in place: shown once in the cell that runs when it is made, then updated
// (update_display_data on its display id) as what it shows changes, even after that cell ended:
// JupyterLab keeps a cell's request open until the cell runs again, so late updates still land.
import { randomUUID } from 'node:crypto';
import { currentDisplaySink, type MimeBundle } from '../kernel/channel.js';

export class LiveDisplay {
  private readonly sink = currentDisplaySink();
  private readonly id = randomUUID();
  private shown = false;
  private drawnAt = 0;
  private pending?: NodeJS.Timeout;

  /** `render` gives the current state; updates come at most every `everyMs`, the last one never dropped. */
  constructor(
    private readonly render: () => MimeBundle,
    private readonly everyMs = 400,
  ) {}

  /** Shows the current state now when `force`, else within `everyMs`. */
  draw(force = false): void {
    if (!this.sink) return;
    const wait = this.drawnAt + this.everyMs - Date.now();
    if (!force && wait > 0) {
      this.pending ??= setTimeout(() => this.draw(true), wait);
      return;
    }
    clearTimeout(this.pending);
    this.pending = undefined;
    this.sink(this.render(), { displayId: this.id, update: this.shown });
    this.shown = true;
    this.drawnAt = Date.now();
  }
}

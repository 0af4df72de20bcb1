import { RemoteState } from '../remote-state';

/**
 * Tokens of the pages shown so far, for "previous" and "next" (the server pages forward only).
 * Starting over (a new search) goes back to the first page.
 */
export class Pager {
  private tokens: (string | undefined)[] = [undefined];

  get index(): number {
    return this.tokens.length - 1;
  }

  get token(): string | undefined {
    return this.tokens[this.index];
  }

  next(token: string): void {
    this.tokens.push(token);
  }

  previous(): boolean {
    if (this.index === 0) return false;
    this.tokens.pop();
    return true;
  }

  reset(): void {
    this.tokens = [undefined];
  }
}

/** Loaded data that the server pages forward with a token: "previous" and "next" on top. */
export abstract class PagedState<T extends { nextPageToken?: string }> extends RemoteState<T> {
  readonly pager = new Pager();

  nextPage(): Promise<void> {
    const token = this.value.nextPageToken;
    if (!token) return Promise.resolve();
    this.pager.next(token);
    return this.refresh();
  }

  previousPage(): Promise<void> {
    return this.pager.previous() ? this.refresh() : Promise.resolve();
  }
}

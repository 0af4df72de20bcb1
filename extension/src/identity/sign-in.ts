import { Signal, type ISignal } from '@lumino/signaling';
import type { Me } from '@tandem/server/api';
import type { TandemClient } from '../requests';

/** Where the sign-in popup ends: a page that says who signed in (server/src/auth/session-tokens.routes.ts). */
const SIGNED_IN_PATH = '/tandem/login/done';
const POLL_MS = 1_000;

export type SignInState = 'unknown' | 'signed-out' | 'signing-in' | 'signed-in';

/**
 * Who JupyterLab acts as, and signing in and out: the state the status bar item shows. The person
 * comes from the client (`TandemClient.user`); this adds whether a sign-in is under way.
 */
export class SignInModel {
  private signingIn = false;
  private readonly changed_ = new Signal<this, void>(this);

  constructor(readonly client: TandemClient) {
    client.userChanged.connect(() => this.changed_.emit(), this);
  }

  get status(): SignInState {
    if (this.signingIn) return 'signing-in';
    const user = this.client.user;
    return user === undefined ? 'unknown' : user ? 'signed-in' : 'signed-out';
  }

  get user(): Me | null | undefined {
    return this.client.user;
  }

  /** Emits whenever `status` or `user` may have changed. */
  get changed(): ISignal<this, void> {
    return this.changed_;
  }

  /** At start: who is signed in already; in single-person mode, nobody yet means the key signs the local user in. */
  async start(): Promise<void> {
    const user = await this.client.refreshUser();
    if (!user && this.client.mode === 'session' && this.client.signInKey) await this.client.signInWithKey(this.client.signInKey);
  }

  /**
   * Single-person mode: the key. Else the Tandem sign-in page in a popup, and the session polled
   * until someone signed in there or the popup was closed. Answers who signed in, or null; throws
   * when the browser blocked the popup.
   */
  async signIn(): Promise<Me | null> {
    if (this.signingIn) return null;
    const key = this.client.signInKey;
    if (key) return this.client.signInWithKey(key);
    const popup = window.open(
      `${this.client.url}/tandem/login?next=${encodeURIComponent(SIGNED_IN_PATH)}`,
      'tandem-sign-in',
      'popup,width=480,height=640',
    );
    if (!popup) throw new Error('the browser blocked the sign-in window: allow pop-ups for this page and try again');
    this.setSigningIn(true);
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const closed = popup.closed;
        const user = await this.client.refreshUser().catch(() => null);
        if (user) {
          popup.close();
          return user;
        }
        if (closed) return null;
      }
    } finally {
      this.setSigningIn(false);
    }
  }

  signOut(): Promise<void> {
    return this.client.signOut();
  }

  private setSigningIn(value: boolean): void {
    this.signingIn = value;
    this.changed_.emit();
  }
}

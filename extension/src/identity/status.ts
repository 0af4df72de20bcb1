import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import type { SignInModel } from './sign-in';

/**
 * The status bar item: "Tandem: Dana" while someone is signed in, "Sign in to Tandem" while
 * nobody is. Clicking it asks `onClick` (the plugin shows the sign-out menu or signs in).
 */
export class SignInStatus extends Widget {
  constructor(
    private readonly model: SignInModel,
    private readonly trans: TranslationBundle,
    onClick: (event: MouseEvent) => void,
  ) {
    super({ node: document.createElement('button') });
    this.addClass('tandem-SignInStatus');
    this.addClass('jp-StatusBar-TextItem');
    this.node.addEventListener('click', onClick);
    model.changed.connect(this.render, this);
    this.render();
  }

  private render(): void {
    const { status, user } = this.model;
    const text =
      status === 'signed-in' && user
        ? this.trans.__('Tandem: %1', user.displayName)
        : status === 'signing-in'
          ? this.trans.__('Tandem: signing in…')
          : status === 'unknown'
            ? this.trans.__('Tandem')
            : this.trans.__('Sign in to Tandem');
    this.node.textContent = text;
    this.node.title =
      status === 'signed-in' && user
        ? this.trans.__('Signed in to Tandem as %1 (%2)', user.displayName, user.name)
        : this.trans.__('Sign in to Tandem: your panels and kernels act as you');
    this.node.dataset.status = status;
  }
}

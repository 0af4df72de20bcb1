import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { ExperimentsApi, ModelVersion, Run, RunArtifact } from './api';

interface Choice {
  model: string;
  artifact: string;
}

/** The form: a model name and one of the run's artifacts, with the last attempt's error above them. */
class RegisterForm extends Widget implements Dialog.IBodyWidget<Choice> {
  private readonly model: HTMLInputElement;
  private readonly artifact: HTMLSelectElement;

  constructor(artifacts: RunArtifact[] | string, choice: Choice, error: string | undefined, trans: TranslationBundle) {
    super();
    this.addClass('tandem-experiments-register-form');
    this.model = h('input', {
      class: 'jp-mod-styled',
      'aria-label': trans.__('Model name'),
      placeholder: trans.__('e.g. churn or team/churn'),
      value: choice.model,
    });
    const files = typeof artifacts === 'string' ? [] : artifacts;
    this.artifact = h(
      'select',
      { class: 'jp-mod-styled', 'aria-label': trans.__('Artifact') },
      ...files.map((a) => h('option', { value: a.path, selected: a.path === choice.artifact }, a.path)),
    );
    this.node.append(
      error ? h('div', { class: 'tandem-experiments-error', role: 'alert' }, error) : '',
      h('label', {}, trans.__('Model name'), this.model),
      h('label', {}, trans.__('Artifact'), this.artifact),
      typeof artifacts === 'string'
        ? h('div', { class: 'tandem-experiments-error' }, trans.__('The run’s artifacts could not be listed: %1', artifacts))
        : files.length === 0
          ? h(
              'div',
              { class: 'tandem-experiments-note' },
              trans.__('This run has no artifacts yet: upload one from the cell with run.artifact(path).'),
            )
          : '',
    );
  }

  getValue(): Choice {
    return { model: this.model.value.trim(), artifact: this.artifact.value };
  }
}

/**
 * Asks for a model name and one of the run's artifacts, and registers it as a new version. A
 * refusal (a taken name, no such route on an older server) shows in the dialog, which opens again
 * with what was typed. Answers the created version, with the model name it went to.
 */
export async function registerRun(
  api: ExperimentsApi,
  run: Run,
  trans: TranslationBundle,
): Promise<{ model: string; version: ModelVersion } | undefined> {
  const artifacts = await api.artifacts(run.id).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
  let choice: Choice = { model: '', artifact: typeof artifacts === 'string' ? '' : (artifacts[0]?.path ?? '') };
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title: trans.__('Register run “%1” as a model version', run.name),
      body: new RegisterForm(artifacts, choice, error, trans),
      buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Register') })],
      focusNodeSelector: 'input',
    });
    if (!result.button.accept || !result.value) return undefined;
    choice = result.value;
    try {
      return { model: choice.model, version: await api.register(run.id, choice) };
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }
}

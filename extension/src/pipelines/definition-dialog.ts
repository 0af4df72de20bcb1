import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { Pipeline } from './api';

/** What "New pipeline" starts from: the smallest definition the server takes, to be filled in. */
export const NEW_PIPELINE = `name: my-pipeline
description: ''
# schedule: { cron: '0 3 * * *', timezone: UTC }
steps:
  - id: first
    kind: gate
    expression: 'true'
`;

/** A definition as the editor shows it: the server's JSON (also valid YAML), indented. */
export const definitionText = (pipeline: Pipeline): string => `${JSON.stringify(pipeline.definition, null, 2)}\n`;

/** The definition's text, with the last attempt's refusal above it. */
class DefinitionForm extends Widget implements Dialog.IBodyWidget<string> {
  private readonly text: HTMLTextAreaElement;

  constructor(text: string, error: string | undefined, trans: TranslationBundle) {
    super();
    this.addClass('tandem-pipelines-definition-form');
    if (error) this.node.append(h('div', { class: 'tandem-jobs-error', role: 'alert' }, error));
    this.node.append(h('p', { class: 'tandem-jobs-meta' }, trans.__('JSON or YAML, as pipelines.define() and POST /pipelines take it.')));
    this.text = h('textarea', {
      class: 'jp-mod-styled tandem-pipelines-definition',
      'aria-label': trans.__('definition'),
      spellcheck: 'false',
      rows: 22,
      // Tab indents (YAML is indentation), rather than leaving the field.
      onkeydown: (e) => {
        const key = e as KeyboardEvent;
        if (key.key !== 'Tab' || key.shiftKey) return;
        key.preventDefault();
        this.text.setRangeText('  ', this.text.selectionStart, this.text.selectionEnd, 'end');
      },
    });
    this.text.value = text;
    this.node.append(this.text);
  }

  getValue(): string {
    return this.text.value;
  }
}

/**
 * Edits a definition until the server takes it: `save` answers the refusal (a cycle, an unknown
 * step, no editor rights), which shows in the dialog, opened again with what was typed.
 * Answers whether it was saved.
 */
export async function editDefinition(
  title: string,
  text: string,
  save: (text: string) => Promise<string | undefined>,
  trans: TranslationBundle,
): Promise<boolean> {
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title,
      body: new DefinitionForm(text, error, trans),
      buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Save') })],
      focusNodeSelector: 'textarea',
    });
    if (!result.button.accept || result.value === null) return false;
    text = result.value;
    error = await save(text);
    if (error === undefined) return true;
  }
}

import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { Pipeline, PipelineParameter, PipelineValue } from './api';

/**
 * A parameter as typed in its field: the default's type decides (a number field for a number, a
 * checkbox for a boolean); an empty field leaves the parameter to its default.
 */
export function parseParameter(text: string, parameter: PipelineParameter): PipelineValue | undefined {
  const example = parameter.default;
  if (typeof example === 'boolean') return text === 'true';
  if (text.trim() === '') return undefined;
  if (typeof example === 'number') {
    const value = Number(text);
    return Number.isFinite(value) ? value : text;
  }
  return text;
}

/** One field per parameter, prefilled with its default, with the last attempt's error above them. */
class RunForm extends Widget implements Dialog.IBodyWidget<Record<string, PipelineValue>> {
  private readonly fields = new Map<string, HTMLInputElement>();

  constructor(
    private readonly parameters: Record<string, PipelineParameter>,
    values: Record<string, PipelineValue>,
    error: string | undefined,
    trans: TranslationBundle,
  ) {
    super();
    this.addClass('tandem-pipelines-run-form');
    if (error) this.node.append(h('div', { class: 'tandem-jobs-error', role: 'alert' }, error));
    for (const [name, parameter] of Object.entries(parameters)) {
      const value = name in values ? values[name] : parameter.default;
      const input =
        typeof parameter.default === 'boolean'
          ? h('input', { type: 'checkbox', checked: value === true, 'aria-label': name })
          : h('input', {
              class: 'jp-mod-styled',
              type: typeof parameter.default === 'number' ? 'number' : 'text',
              'aria-label': name,
              name,
              value: value === null || value === undefined ? '' : String(value),
              placeholder: parameter.required ? trans.__('required') : '',
            });
      this.fields.set(name, input);
      this.node.append(
        h(
          'label',
          {},
          h('span', { class: 'tandem-pipelines-param-name' }, parameter.required ? `${name} *` : name),
          input,
          parameter.description ? h('span', { class: 'tandem-pipelines-param-description' }, parameter.description) : '',
        ),
      );
    }
  }

  getValue(): Record<string, PipelineValue> {
    const values: Record<string, PipelineValue> = {};
    for (const [name, input] of this.fields) {
      const value = parseParameter(input.type === 'checkbox' ? String(input.checked) : input.value, this.parameters[name]!);
      if (value !== undefined) values[name] = value;
    }
    return values;
  }
}

/**
 * Starts `pipeline` now. With parameters it first asks for each (prefilled with the defaults); a
 * refusal (a missing required parameter, no editor rights) shows in the dialog, which opens again
 * with what was typed. Answers whether a run started.
 */
export async function runNow(
  pipeline: Pipeline,
  start: (params: Record<string, PipelineValue>) => Promise<{ error?: string }>,
  trans: TranslationBundle,
): Promise<boolean> {
  const parameters = pipeline.definition.parameters ?? {};
  if (Object.keys(parameters).length === 0) return (await start({})).error === undefined;
  let values: Record<string, PipelineValue> = {};
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title: trans.__('Run “%1” now', pipeline.name),
      body: new RunForm(parameters, values, error, trans),
      buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Run') })],
      focusNodeSelector: 'input',
    });
    if (!result.button.accept || !result.value) return false;
    values = result.value;
    error = (await start(values)).error;
    if (error === undefined) return true;
  }
}

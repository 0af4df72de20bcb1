import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { ModelsApi, Role } from './api';
import { h } from '../dom';

/** Lists who has access and lets owners grant, change or remove roles for users and teams. */
export async function showShareDialog(api: ModelsApi, model: string, canEdit: boolean): Promise<void> {
  const body = new Widget({ node: h('div', { class: 'tandem-models-share' }) });
  const error = h('div', { class: 'tandem-models-error' });
  const list = h('table', { class: 'tandem-models-grants' });
  const render = (grants: { principal: { type: string }; name: string; role: Role }[]) => {
    list.replaceChildren(
      ...grants.map((g) =>
        h(
          'tr',
          {},
          h('td', {}, `${g.principal.type === 'team' ? '👥 ' : ''}${g.name}`),
          h('td', {}, g.role),
          h(
            'td',
            {},
            canEdit
              ? h(
                  'button',
                  {
                    class: 'jp-mod-styled',
                    title: `remove ${g.name}`,
                    onclick: () => change(g.principal.type as 'user' | 'team', g.name, null),
                  },
                  'Remove',
                )
              : '',
          ),
        ),
      ),
    );
  };
  const change = async (type: 'user' | 'team', name: string, role: Role | null) => {
    error.textContent = '';
    try {
      render((await api.share(model, { type, name }, role)).grants);
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  const type = h(
    'select',
    { 'aria-label': 'user or team' },
    h('option', { value: 'user' }, 'user'),
    h('option', { value: 'team' }, 'team'),
  );
  const who = h('input', { placeholder: 'name', 'aria-label': 'user or team name' });
  const role = h('select', { 'aria-label': 'role' }, ...(['viewer', 'editor', 'owner'] as const).map((r) => h('option', { value: r }, r)));
  const form = h(
    'form',
    {
      class: 'tandem-models-share-form',
      onsubmit: (e) => (e.preventDefault(), void change(type.value as 'user' | 'team', who.value.trim(), role.value as Role)),
    },
    type,
    who,
    role,
    h('button', { type: 'submit', class: 'jp-mod-styled jp-mod-accept' }, 'Share'),
  );
  body.node.append(list, canEdit ? form : h('p', {}, 'Only owners can change sharing.'), error);
  api.grants(model).then(
    ({ grants }) => render(grants),
    (e: Error) => (error.textContent = e.message),
  );
  await showDialog({ title: `Share ${model}`, body, buttons: [Dialog.okButton({ label: 'Done' })] });
}
